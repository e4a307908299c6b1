// appkeys — compiled only where used: why much of the client is written as templates, and
// dependent_t and dependent(), which finish the job.
//
// A header-only client is parsed by every program that includes it, but a function
// template's body is compiled only where the function is used. So functions that few
// programs call, or whose bodies instantiate standard templates, are written as
// `template <class = void>` (calls are unchanged; taking the address needs `<>`): the
// comment "compiled only where used" across the library points here.
//
// That is not enough for the types such a template names. GCC instantiates a class
// template that a template names non-dependently (a member's type, the type of an
// expression in a function body) where the template is defined, not where it is used.
// `template <class T = void> struct A { std::vector<X> v; };` thus compiles
// std::vector<X> in every program that includes the header, used or not. Spelled
// dependent_t<T, std::vector<X>>, the type is the same, but it is compiled only where
// A<T> is; dependent<T>(x) does the same for an object reached in a body.
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
