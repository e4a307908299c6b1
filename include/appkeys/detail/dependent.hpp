// appkeys — dependent_t and dependent(): naming a type or an object so that it depends
// on a template parameter.
//
// Why: GCC instantiates a class template that a template names non-dependently (a
// member's type, the type of an expression in a function body) where the template is
// defined, not where it is used. `template <class T = void> struct A { std::vector<X>
// v; };` thus compiles std::vector<X> in every program that includes the header, used
// or not. Spelled dependent_t<T, std::vector<X>>, the type is the same, but it is
// compiled only where A<T> is. The library's own class templates that exist only to be
// compiled where used (`template <class = void>`) name their members' types this way.
#pragma once

namespace appkeys::detail {

template <class T, class X>
struct DependentType {
  using type = X;
};

/// `X`, as a type that depends on `T` (an alias template that ignores its parameter
/// would not: it is replaced by X at once).
template <class T, class X>
using dependent_t = typename DependentType<T, X>::type;

/// `object`, as an expression that depends on `T`: members reached through it are
/// looked up, and their classes compiled, only where the enclosing template is.
template <class T, class X>
constexpr X& dependent(X& object) noexcept {
  return object;
}

}  // namespace appkeys::detail
