#include "node/xml/schema.h"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/framework/XMLGrammarPoolImpl.hpp>
#include <xercesc/sax/EntityResolver.hpp>
#include <xercesc/sax/ErrorHandler.hpp>
#include <xercesc/sax/SAXParseException.hpp>
#include <xercesc/sax2/DefaultHandler.hpp>
#include <xercesc/sax2/SAX2XMLReader.hpp>
#include <xercesc/sax2/XMLReaderFactory.hpp>
#include <xercesc/util/OutOfMemoryException.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/SecurityManager.hpp>
#include <xercesc/util/XMLString.hpp>
#include <xercesc/util/XMLUni.hpp>
#include <xercesc/validators/common/Grammar.hpp>

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

// Records the first problem; aborts the parse on a DOCTYPE.
class Collector : public x::DefaultHandler {
 public:
  void warning(const x::SAXParseException&) override {}
  void error(const x::SAXParseException& e) override { record(e); }
  void fatalError(const x::SAXParseException& e) override { record(e); }
  void startDTD(const XMLCh*, const XMLCh*, const XMLCh*) override {
    if (!failed) {
      failed = true;
      where = {1, 1, "a DOCTYPE declaration is not allowed"};
    }
    throw std::runtime_error("doctype");
  }
  void reset() {
    failed = false;
    where = {};
  }
  bool failed = false;
  ValidationError where;

 private:
  void record(const x::SAXParseException& e) {
    if (failed) return;
    failed = true;
    where = {static_cast<int>(e.getLineNumber()), static_cast<int>(e.getColumnNumber()),
             transcode(e.getMessage())};
  }
};

}  // namespace

struct SchemaSet::Impl {
  x::XMLGrammarPool* pool = nullptr;
  EmbeddedResolver resolver;
  x::SecurityManager security;

  std::unique_ptr<x::SAX2XMLReader> make_reader() {
    std::unique_ptr<x::SAX2XMLReader> r(
        x::XMLReaderFactory::createXMLReader(x::XMLPlatformUtils::fgMemoryManager, pool));
    r->setFeature(x::XMLUni::fgSAX2CoreNameSpaces, true);
    r->setFeature(x::XMLUni::fgSAX2CoreValidation, true);
    r->setFeature(x::XMLUni::fgXercesDynamic, false);
    r->setFeature(x::XMLUni::fgXercesSchema, true);
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
};

SchemaSet::SchemaSet() : impl_(new Impl) {
  x::XMLPlatformUtils::Initialize();
  impl_->pool = new x::XMLGrammarPoolImpl(x::XMLPlatformUtils::fgMemoryManager);
  impl_->security.setEntityExpansionLimit(100);

  auto loader = impl_->make_reader();
  loader->setFeature(x::XMLUni::fgXercesSchemaFullChecking, true);
  Collector collector;
  loader->setErrorHandler(&collector);
  const EmbeddedFile* main = nullptr;
  for (const auto& f : embedded_schemas())
    if (f.name == "fvce.xsd") main = &f;
  if (!main) throw std::logic_error("fvce.xsd is not embedded in this binary");
  XStr sys(main->name);
  x::MemBufInputSource src(reinterpret_cast<const XMLByte*>(main->text.data()), main->text.size(),
                           sys.get(), false);
  loader->loadGrammar(src, x::Grammar::SchemaGrammarType, true);
  if (collector.failed)
    throw std::logic_error(
        "xsd/fvce.xsd does not compile: " + std::to_string(collector.where.line) + ":" +
        std::to_string(collector.where.column) + ": " + collector.where.reason);
  impl_->pool->lockPool();
}

const SchemaSet& SchemaSet::instance() {
  static SchemaSet* set = new SchemaSet();  // never destroyed: threads may still use it at exit
  return *set;
}

Status SchemaSet::validate(std::string_view text, std::string_view source,
                           ValidationError* where) const {
  thread_local std::unique_ptr<x::SAX2XMLReader> reader;
  thread_local Collector collector;
  if (!reader) {
    reader = impl_->make_reader();
    reader->setContentHandler(&collector);
    reader->setErrorHandler(&collector);
    reader->setLexicalHandler(&collector);
  }
  collector.reset();
  XStr sys(source.empty() ? "body" : source);
  x::MemBufInputSource src(reinterpret_cast<const XMLByte*>(text.data()), text.size(), sys.get(),
                           false);
  try {
    reader->parse(src);
  } catch (const x::OutOfMemoryException&) {
    return Status::TooLarge("the document is too large to validate");
  } catch (const std::exception&) {
    // startDTD aborts the parse; the collector holds the reason.
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
