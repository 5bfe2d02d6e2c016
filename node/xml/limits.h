// The shape limits of every XML document fvce reads (schema.cpp: the lengths in one pass over
// the bytes before the parser starts, depth and counts while it parses, before any element
// reaches a decoder; the XSDs bound free text again with maxLength facets). They keep the cost of a
// body linear in its size and stop a deep or bloated body as soon as it crosses a limit: a
// 100,000-deep nesting is refused at the 33rd element, not after it has been parsed.
#pragma once

#include <cstddef>

namespace fvce::xml {

// Elements inside one another. fvce's own documents nest at most 6 deep.
inline constexpr std::size_t kMaxDepth = 32;
// Elements in one document (a workflow of 100,000 tasks with their files stays under it).
inline constexpr std::size_t kMaxElements = 2'000'000;
// Attributes on one element.
inline constexpr std::size_t kMaxAttributes = 64;
// Bytes of one attribute value or one run of text between tags, as written (before
// entities are replaced): Linux's limit on one argument of a command (MAX_ARG_STRLEN), the
// longest value any fvce document needs.
inline constexpr std::size_t kMaxAttributeLength = 128 * 1024;
inline constexpr std::size_t kMaxTextLength = 128 * 1024;

}  // namespace fvce::xml
