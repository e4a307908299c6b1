// appkeys server — the errors a durable store throws.
#pragma once

#include <appkeys/testing/backend/store.hpp>

#include <stdexcept>

namespace appkeys::server {

/// A store that cannot do what was asked (a database error, a schema it does not know,
/// a file or database that is not an appkeys store). Its message names the store and
/// the database's reason, never a bound value (which may be a hash or a name). The
/// backend answers 500 for it.
///
/// Thread safety: an exception object; immutable once thrown.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The store cannot be reached now (the backend answers 503); see
/// testing::backend::StoreUnavailable.
using StoreUnavailable = testing::backend::StoreUnavailable;

}  // namespace appkeys::server
