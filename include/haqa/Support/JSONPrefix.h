//===- JSONPrefix.h - is this text the start of a JSON object? -*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A byte-at-a-time recognizer of the prefixes of one JSON object (RFC 8259:
// objects, arrays, strings with their escapes, numbers, true / false / null,
// whitespace), for output constrained to JSON: a token is allowed when its
// bytes keep the text a prefix of some JSON object, and the generation ends
// when the object is complete. Multi-byte UTF-8 inside strings passes as
// bytes of 0x80 and above.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_SUPPORT_JSONPREFIX_H
#define HAQA_SUPPORT_JSONPREFIX_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::haqa {

class JSONPrefix {
public:
  /// Extends the text by `c`; false (and the state unchanged) when no JSON
  /// object starts with the text and `c`.
  bool feed(char c);
  /// Feeds every byte of `s`; false (state unchanged) if one is refused.
  bool feed(llvm::StringRef s);
  /// The object is complete (only whitespace may follow).
  bool isComplete() const { return done; }
  /// All of the state that decides which bytes come next: two prefixes
  /// with equal keys accept exactly the same continuations (what a cache
  /// of per-state token masks is keyed by).
  std::string getStateKey() const;

private:
  /// What the next byte may be.
  enum class Expect : char {
    Value,        ///< a value (after ':' or '[' or ',' in an array)
    ValueOrClose, ///< a value or ']' (just after '[')
    Key,          ///< a string key (after ',' in an object)
    KeyOrClose,   ///< a key or '}' (just after '{')
    Colon,        ///< ':' after a key
    After,        ///< ',' or the closing bracket of the container
    InString,     ///< inside a string
    Escape,       ///< after a backslash in a string
    Unicode,      ///< inside \uXXXX (`hex` digits read)
    Number,       ///< inside a number (`num` says where)
    Literal,      ///< inside true / false / null (`lit` is the rest)
  };
  bool step(char c);
  /// The value just ended: what follows depends on the container.
  void endValue();

  Expect expect = Expect::Value;
  /// Open containers, '{' or '['; empty at the top.
  std::string stack;
  /// Is the string being read a key?
  bool key = false;
  int hex = 0;
  /// Number states: 0 after '-', 1 after a leading 0, 2 in the integer
  /// digits, 3 after '.', 4 in the fraction, 5 after 'e', 6 after the
  /// exponent's sign, 7 in the exponent.
  int num = 0;
  std::string lit;
  bool started = false, done = false;
};

} // namespace mlir::haqa

#endif // HAQA_SUPPORT_JSONPREFIX_H
