//===- JSONPrefix.cpp - is this text the start of a JSON object? ---------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/JSONPrefix.h"

using namespace mlir::haqa;

static bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
static bool isDigit(char c) { return c >= '0' && c <= '9'; }
static bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void JSONPrefix::endValue() {
  if (stack.empty())
    done = true;
  else
    expect = Expect::After;
}

bool JSONPrefix::step(char c) {
  if (done)
    return isSpace(c);
  switch (expect) {
  case Expect::InString:
    if (c == '"') {
      if (key) {
        key = false;
        expect = Expect::Colon;
      } else {
        endValue();
      }
      return true;
    }
    if (c == '\\') {
      expect = Expect::Escape;
      return true;
    }
    return static_cast<unsigned char>(c) >= 0x20;
  case Expect::Escape:
    if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
        c == 'r' || c == 't') {
      expect = Expect::InString;
      return true;
    }
    if (c == 'u') {
      expect = Expect::Unicode;
      hex = 0;
      return true;
    }
    return false;
  case Expect::Unicode:
    if (!isHex(c))
      return false;
    if (++hex == 4)
      expect = Expect::InString;
    return true;
  case Expect::Number: {
    bool digit = isDigit(c), exp = c == 'e' || c == 'E';
    switch (num) {
    case 0: // after '-'
      if (!digit)
        return false;
      num = c == '0' ? 1 : 2;
      return true;
    case 1: // a leading 0: no more digits
    case 2:
      if (num == 2 && digit)
        return true;
      if (c == '.') {
        num = 3;
        return true;
      }
      if (exp) {
        num = 5;
        return true;
      }
      break;
    case 3: // after '.'
      if (!digit)
        return false;
      num = 4;
      return true;
    case 4:
      if (digit)
        return true;
      if (exp) {
        num = 5;
        return true;
      }
      break;
    case 5: // after 'e'
      if (c == '+' || c == '-') {
        num = 6;
        return true;
      }
      [[fallthrough]];
    case 6:
      if (!digit)
        return false;
      num = 7;
      return true;
    case 7:
      if (digit)
        return true;
      break;
    }
    // The number ended before `c`, which must follow a value.
    endValue();
    return step(c);
  }
  case Expect::Literal:
    if (lit.empty() || c != lit[0])
      return false;
    lit.erase(0, 1);
    if (lit.empty())
      endValue();
    return true;
  case Expect::Colon:
    if (isSpace(c))
      return true;
    if (c != ':')
      return false;
    expect = Expect::Value;
    return true;
  case Expect::After: {
    if (isSpace(c))
      return true;
    char open = stack.back();
    if (c == ',') {
      expect = open == '{' ? Expect::Key : Expect::Value;
      return true;
    }
    if (c != (open == '{' ? '}' : ']'))
      return false;
    stack.pop_back();
    endValue();
    return true;
  }
  case Expect::Key:
  case Expect::KeyOrClose:
    if (isSpace(c))
      return true;
    if (c == '"') {
      key = true;
      expect = Expect::InString;
      return true;
    }
    if (expect == Expect::KeyOrClose && c == '}') {
      stack.pop_back();
      endValue();
      return true;
    }
    return false;
  case Expect::Value:
  case Expect::ValueOrClose:
    if (isSpace(c))
      return true;
    if (!started) {
      // The top level is an object.
      if (c != '{')
        return false;
      started = true;
      stack.push_back('{');
      expect = Expect::KeyOrClose;
      return true;
    }
    if (expect == Expect::ValueOrClose && c == ']') {
      stack.pop_back();
      endValue();
      return true;
    }
    switch (c) {
    case '{':
      stack.push_back('{');
      expect = Expect::KeyOrClose;
      return true;
    case '[':
      stack.push_back('[');
      expect = Expect::ValueOrClose;
      return true;
    case '"':
      key = false;
      expect = Expect::InString;
      return true;
    case 't':
      lit = "rue";
      expect = Expect::Literal;
      return true;
    case 'f':
      lit = "alse";
      expect = Expect::Literal;
      return true;
    case 'n':
      lit = "ull";
      expect = Expect::Literal;
      return true;
    case '-':
      num = 0;
      expect = Expect::Number;
      return true;
    default:
      if (!isDigit(c))
        return false;
      num = c == '0' ? 1 : 2;
      expect = Expect::Number;
      return true;
    }
  }
  return false;
}

bool JSONPrefix::feed(char c) {
  JSONPrefix saved = *this;
  if (step(c))
    return true;
  *this = std::move(saved);
  return false;
}

bool JSONPrefix::feed(llvm::StringRef s) {
  JSONPrefix saved = *this;
  for (char c : s)
    if (!step(c)) {
      *this = std::move(saved);
      return false;
    }
  return true;
}

std::string JSONPrefix::getStateKey() const {
  std::string k;
  k += static_cast<char>(expect);
  k += static_cast<char>(key);
  k += static_cast<char>(hex);
  k += static_cast<char>(num);
  k += static_cast<char>(started);
  k += static_cast<char>(done);
  k += lit;
  k += '|';
  k += stack;
  return k;
}
