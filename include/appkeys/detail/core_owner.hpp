// appkeys — how the user's handles (App, ApiKeyAuth) own a ClientCore: when the last of
// them goes, calls still in flight are settled (errc::shutting_down) before the
// destructor returns; the calls themselves keep the core alive until they are over.
#pragma once

#include <appkeys/detail/client_core.hpp>
#include <appkeys/detail/share.hpp>

#include <memory>
#include <utility>

namespace appkeys::detail {

template <AnyTransport T>
struct CoreOwner {
  explicit CoreOwner(std::shared_ptr<ClientCore<T>> owned) noexcept : core(std::move(owned)) {}
  CoreOwner(const CoreOwner&) = delete;
  CoreOwner& operator=(const CoreOwner&) = delete;
  ~CoreOwner() {
    core->shut_down();
    T& transport = core->transport();
    // A transport that can shut down early does so here, on the user's thread: its
    // threads have ended when the last handle's destructor returns, so none is still
    // running library code when the program goes on to exit. Calls that have not let
    // go of the core yet only hold an idle transport after this.
    if constexpr (ShutsDownEarly<T>) {
      if (!on_loop_thread(transport)) transport.shut_down();
    }
    std::shared_ptr<void> last = std::move(core);
    release_off_loop(last, transport);
  }

  std::shared_ptr<ClientCore<T>> core;
};

/// A handle to a new core: its copies count as user handles (see CoreOwner), and it
/// points at the core itself, so the rest of the code needs no indirection.
template <AnyTransport T>
std::shared_ptr<ClientCore<T>> make_owned_core(AppConfig config, T transport) {
  auto owner =
      share_new<CoreOwner<T>>(share_new<ClientCore<T>>(std::move(config), std::move(transport)));
  ClientCore<T>* core = owner->core.get();
  return std::shared_ptr<ClientCore<T>>(std::move(owner), core);
}

}  // namespace appkeys::detail
