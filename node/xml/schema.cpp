#include "node/xml/schema.h"

#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/framework/XMLGrammarPoolImpl.hpp>
#include <xercesc/sax/EntityResolver.hpp>
#include <xercesc/sax/ErrorHandler.hpp>
#include <xercesc/sax/Locator.hpp>
#include <xercesc/sax/SAXParseException.hpp>
#include <xercesc/sax2/Attributes.hpp>
#include <xercesc/sax2/DefaultHandler.hpp>
#include <xercesc/sax2/SAX2XMLReader.hpp>
#include <xercesc/sax2/XMLReaderFactory.hpp>
#include <xercesc/util/OutOfMemoryException.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/SecurityManager.hpp>
#include <xercesc/util/XMLString.hpp>
#include <xercesc/util/XMLUni.hpp>
#include <xercesc/validators/common/Grammar.hpp>

#include "node/xml/limits.h"

namespace fvce::xml {

namespace x = xercesc;

namespace {

std::string transcode(const XMLCh* s) {
  if (!s) return {};
  char* c = x::XMLString::transcode(s);
  std::string out(c);
  x::XMLString::release(&c);
  return out;
}

// Xerces quotes the offending value in its messages, however long it is: keep the answer
// short (the value's start and end still show which one it was).
std::string shortened(std::string message) {
  constexpr std::size_t kHead = 256, kTail = 128;
  if (message.size() <= kHead + kTail + 16) return message;
  std::size_t head = kHead, tail = message.size() - kTail;
  // Cut on UTF-8 character boundaries.
  while (head > 0 && (static_cast<unsigned char>(message[head]) & 0xC0) == 0x80) --head;
  while (tail < message.size() && (static_cast<unsigned char>(message[tail]) & 0xC0) == 0x80)
    ++tail;
  return message.substr(0, head) + "... (" + std::to_string(tail - head) + " bytes) ..." +
         message.substr(tail);
}

// Owns an XMLCh* made from a narrow string.
class XStr {
 public:
  explicit XStr(std::string_view s) : p_(x::XMLString::transcode(std::string(s).c_str())) {}
  ~XStr() { x::XMLString::release(&p_); }
  XStr(const XStr&) = delete;
  XStr& operator=(const XStr&) = delete;
  const XMLCh* get() const { return p_; }

 private:
  XMLCh* p_;
};

// Serves xs:include'd schema files from the embedded copies; refuses everything else, so
// an instance document can never make the node open a file or a URL.
class EmbeddedResolver : public x::EntityResolver {
 public:
  x::InputSource* resolveEntity(const XMLCh* /*public_id*/, const XMLCh* system_id) override {
    std::string system = transcode(system_id);
    auto slash = system.find_last_of('/');
    std::string base = slash == std::string::npos ? system : system.substr(slash + 1);
    for (const auto& f : embedded_schemas()) {
      if (f.name == base) {
        XStr sys(f.name);
        return new x::MemBufInputSource(reinterpret_cast<const XMLByte*>(f.text.data()),
                                        f.text.size(), sys.get(), false);
      }
    }
    // An empty source: the parser reports the reference as unresolvable.
    XStr sys("refused");
    return new x::MemBufInputSource(reinterpret_cast<const XMLByte*>(""), 0, sys.get(), false);
  }
};

// Thrown from a handler to abort the parse; the collector holds the reason.
struct Abort {};

// Records the first problem and aborts the parse there: on an error, a DOCTYPE, and as soon
// as the document nests too deep or holds too many elements or attributes (limits.h); the
// lengths of values were checked before (prescan). A deep or bloated body costs no more
// than the bytes read up to its fault.
class Collector : public x::DefaultHandler {
 public:
  void warning(const x::SAXParseException&) override {}
  // The first error ends the parse: the answer names it, and a document that is wrong early
  // costs no more than the bytes up to its fault.
  void error(const x::SAXParseException& e) override {
    record(e);
    throw Abort{};
  }
  void fatalError(const x::SAXParseException& e) override {
    record(e);
    throw Abort{};
  }
  void setDocumentLocator(const x::Locator* const locator) override { locator_ = locator; }
  void startDTD(const XMLCh*, const XMLCh*, const XMLCh*) override {
    if (!failed) {
      failed = true;
      where = {1, 1, "a DOCTYPE declaration is not allowed"};
    }
    throw Abort{};
  }
  void startElement(const XMLCh*, const XMLCh*, const XMLCh* qname,
                    const x::Attributes& attrs) override {
    if (++depth_ > kMaxDepth)
      refuse("elements nest deeper than " + std::to_string(kMaxDepth) + " levels");
    if (++elements_ > kMaxElements)
      refuse("the document has more than " + std::to_string(kMaxElements) + " elements");
    if (attrs.getLength() > kMaxAttributes)
      refuse("element <" + transcode(qname) + "> has more than " + std::to_string(kMaxAttributes) +
             " attributes");
  }
  void endElement(const XMLCh*, const XMLCh*, const XMLCh*) override { --depth_; }
  void reset() {
    failed = false;
    where = {};
    depth_ = 0;
    elements_ = 0;
  }
  bool failed = false;
  ValidationError where;

 private:
  [[noreturn]] void refuse(std::string reason) {
    if (!failed) {
      failed = true;
      int line = locator_ ? static_cast<int>(locator_->getLineNumber()) : 1;
      int column = locator_ ? static_cast<int>(locator_->getColumnNumber()) : 1;
      where = {line > 0 ? line : 1, column > 0 ? column : 1, std::move(reason)};
    }
    throw Abort{};
  }
  const x::Locator* locator_ = nullptr;
  std::size_t depth_ = 0;
  std::size_t elements_ = 0;

  void record(const x::SAXParseException& e) {
    if (failed) return;
    failed = true;
    where = {static_cast<int>(e.getLineNumber()), static_cast<int>(e.getColumnNumber()),
             shortened(transcode(e.getMessage()))};
  }
};

// Before the parser sees a byte: every attribute value and every run of text between
// tags at most kMaxAttributeLength / kMaxTextLength bytes. One pass over the bytes, so a
// 7 MB value is refused before the parser makes its two-bytes-per-character copy of it.
// Comments, CDATA sections and processing instructions are stepped over (a CDATA section
// counts as text); whatever else is wrong the parser reports next.
bool prescan(std::string_view t, ValidationError& where) {
  int line = 1;
  std::size_t line_start = 0;
  auto fail = [&](std::size_t at, std::string reason) {
    where = {line, static_cast<int>(at - line_start + 1), std::move(reason)};
    return false;
  };
  auto advance = [&](std::size_t from, std::size_t to) {  // counts the lines in [from, to)
    for (std::size_t i = from; i < to; ++i)
      if (t[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
  };
  std::size_t i = 0;
  while (i < t.size()) {
    std::size_t lt = t.find('<', i);
    std::size_t end = lt == std::string_view::npos ? t.size() : lt;
    if (end - i > kMaxTextLength)
      return fail(i, "a text node is longer than " + std::to_string(kMaxTextLength) + " bytes");
    advance(i, end);
    if (lt == std::string_view::npos) break;
    auto skip_to = [&](std::string_view close, std::size_t from, bool is_text) -> std::size_t {
      std::size_t c = t.find(close, from);
      std::size_t stop = c == std::string_view::npos ? t.size() : c + close.size();
      if (is_text && stop - from > kMaxTextLength) return std::string_view::npos;
      advance(lt, stop);
      return stop;
    };
    if (t.compare(lt, 4, "<!--") == 0) {
      i = skip_to("-->", lt + 4, false);
    } else if (t.compare(lt, 9, "<![CDATA[") == 0) {
      i = skip_to("]]>", lt + 9, true);
      if (i == std::string_view::npos)
        return fail(lt,
                    "a CDATA section is longer than " + std::to_string(kMaxTextLength) + " bytes");
    } else if (t.compare(lt, 2, "<?") == 0) {
      i = skip_to("?>", lt + 2, false);
    } else {
      // A tag: step over quoted values, measuring each.
      std::size_t j = lt + 1;
      while (j < t.size() && t[j] != '>') {
        if (t[j] == '"' || t[j] == '\'') {
          std::size_t q = t.find(t[j], j + 1);
          std::size_t stop = q == std::string_view::npos ? t.size() : q;
          if (stop - j - 1 > kMaxAttributeLength)
            return fail(j, "an attribute value is longer than " +
                               std::to_string(kMaxAttributeLength) + " bytes");
          advance(j, stop);
          j = stop + 1;
        } else {
          if (t[j] == '\n') {
            ++line;
            line_start = j + 1;
          }
          ++j;
        }
      }
      i = j + 1;
    }
  }
  return true;
}

}  // namespace

// Everything Xerces-C needs to validate, for one thread: Xerces compiles each pattern facet
// into a regular expression whose character maps it builds lazily, on first use, without a
// lock — two threads matching with the same compiled grammar race there (and abort in
// RangeToken::doCreateMap). So each thread that validates compiles the grammar once for
// itself, and nothing compiled is shared between threads.
struct ThreadGrammar {
  x::XMLGrammarPool* pool = nullptr;
  EmbeddedResolver resolver;
  x::SecurityManager security;
  std::unique_ptr<x::SAX2XMLReader> readers[2];  // validating, shape only
  Collector collectors[2];

  explicit ThreadGrammar(std::string_view main_name = "fvce.xsd") {
    pool = new x::XMLGrammarPoolImpl(x::XMLPlatformUtils::fgMemoryManager);
    security.setEntityExpansionLimit(100);
    auto loader = make_reader();
    loader->setFeature(x::XMLUni::fgXercesSchemaFullChecking, true);
    Collector collector;
    loader->setErrorHandler(&collector);
    const EmbeddedFile* main = nullptr;
    for (const auto& f : embedded_schemas())
      if (f.name == main_name) main = &f;
    if (!main) throw std::logic_error(std::string(main_name) + " is not embedded in this binary");
    XStr sys(main->name);
    x::MemBufInputSource src(reinterpret_cast<const XMLByte*>(main->text.data()), main->text.size(),
                             sys.get(), false);
    loader->loadGrammar(src, x::Grammar::SchemaGrammarType, true);
    if (collector.failed)
      throw std::logic_error("xsd/" + std::string(main_name) +
                             " does not compile: " + std::to_string(collector.where.line) + ":" +
                             std::to_string(collector.where.column) + ": " +
                             collector.where.reason);
    loader.reset();
    pool->lockPool();
  }
  ~ThreadGrammar() {
    for (auto& r : readers) r.reset();
    delete pool;
  }
  ThreadGrammar(const ThreadGrammar&) = delete;
  ThreadGrammar& operator=(const ThreadGrammar&) = delete;

  std::unique_ptr<x::SAX2XMLReader> make_reader(bool validate = true) {
    std::unique_ptr<x::SAX2XMLReader> r(
        x::XMLReaderFactory::createXMLReader(x::XMLPlatformUtils::fgMemoryManager, pool));
    r->setFeature(x::XMLUni::fgSAX2CoreNameSpaces, true);
    r->setFeature(x::XMLUni::fgSAX2CoreValidation, validate);
    r->setFeature(x::XMLUni::fgXercesDynamic, false);
    r->setFeature(x::XMLUni::fgXercesSchema, validate);
    r->setFeature(x::XMLUni::fgXercesSchemaFullChecking, false);
    r->setFeature(x::XMLUni::fgXercesUseCachedGrammarInParse, true);
    r->setFeature(x::XMLUni::fgXercesLoadSchema, false);
    r->setFeature(x::XMLUni::fgXercesLoadExternalDTD, false);
    r->setFeature(x::XMLUni::fgXercesDisableDefaultEntityResolution, true);
    r->setFeature(x::XMLUni::fgXercesIdentityConstraintChecking, true);
    r->setProperty(x::XMLUni::fgXercesSecurityManager, &security);
    r->setEntityResolver(&resolver);
    return r;
  }

  // The reader (validating or not) and its collector, made on first use.
  std::pair<x::SAX2XMLReader&, Collector&> reader(bool validate) {
    int i = validate ? 0 : 1;
    if (!readers[i]) {
      readers[i] = make_reader(validate);
      readers[i]->setContentHandler(&collectors[i]);
      readers[i]->setErrorHandler(&collectors[i]);
      readers[i]->setLexicalHandler(&collectors[i]);
    }
    return {*readers[i], collectors[i]};
  }

  static ThreadGrammar& mine() {
    thread_local ThreadGrammar grammar;
    return grammar;
  }
  // This thread's grammar of another embedded schema (e.g. jsdl.xsd), compiled on first use.
  static ThreadGrammar* of(std::string_view main_name) {
    if (main_name == "fvce.xsd") return &mine();
    thread_local std::map<std::string, std::unique_ptr<ThreadGrammar>, std::less<>> others;
    auto it = others.find(main_name);
    if (it == others.end()) {
      bool known = false;
      for (const auto& f : embedded_schemas()) known = known || f.name == main_name;
      if (!known) return nullptr;
      it = others.emplace(std::string(main_name), std::make_unique<ThreadGrammar>(main_name)).first;
    }
    return it->second.get();
  }
};

struct SchemaSet::Impl {};

SchemaSet::SchemaSet() : impl_(new Impl) {
  x::XMLPlatformUtils::Initialize();
  ThreadGrammar::mine();  // the schema compiles, or the process stops here
}

const SchemaSet& SchemaSet::instance() {
  static SchemaSet* set = new SchemaSet();  // never destroyed: threads may still use it at exit
  return *set;
}

Status SchemaSet::validate(std::string_view text, std::string_view source,
                           ValidationError* where) const {
  return parse(text, source, where, true);
}

Status SchemaSet::validate_with(std::string_view schema, std::string_view text,
                                std::string_view source, ValidationError* where) const {
  auto* grammar = ThreadGrammar::of(schema);
  if (!grammar) return Status::Internal(std::string(schema) + " is not embedded in this binary");
  return parse(*grammar, text, source, where, true);
}

Status SchemaSet::check_shape(std::string_view text, ValidationError* where) const {
  return parse(text, {}, where, false);
}

Status SchemaSet::parse(std::string_view text, std::string_view source, ValidationError* where,
                        bool validate) const {
  return parse(ThreadGrammar::mine(), text, source, where, validate);
}

Status SchemaSet::parse(ThreadGrammar& grammar, std::string_view text, std::string_view source,
                        ValidationError* where, bool validate) const {
  auto [reader, collector] = grammar.reader(validate);
  collector.reset();
  if (!prescan(text, collector.where)) collector.failed = true;
  XStr sys(source.empty() ? "body" : source);
  x::MemBufInputSource src(reinterpret_cast<const XMLByte*>(text.data()), text.size(), sys.get(),
                           false);
  if (!collector.failed) {
    try {
      reader.parse(src);
    } catch (const x::OutOfMemoryException&) {
      return Status::TooLarge("the document is too large to validate");
    } catch (const std::bad_alloc&) {
      return Status::TooLarge("the document is too large to validate");
    } catch (const Abort&) {
      // A handler aborted the parse; the collector holds the reason.
    } catch (const x::XMLException& e) {
      if (!collector.failed) {
        collector.failed = true;
        collector.where = {1, 1, transcode(e.getMessage())};
      }
    } catch (const x::SAXException& e) {
      if (!collector.failed) {
        collector.failed = true;
        collector.where = {1, 1, transcode(e.getMessage())};
      }
    }
  }
  if (!collector.failed) return Status::Ok();
  if (where) *where = collector.where;
  std::string prefix = source.empty() ? "" : std::string(source) + ":";
  return Status::InvalidArgument(prefix + std::to_string(collector.where.line) + ":" +
                                 std::to_string(collector.where.column) + ": " +
                                 collector.where.reason);
}

Status validate_body(std::string_view text) {
  return SchemaSet::instance().validate(text);
}

}  // namespace fvce::xml
