// appkeys — CoreOperation: one call as App and ApiKeyAuth hand it to the Executor: a
// step machine and the core to run it on, startable either way (StartableOperation).
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/detail/client_core.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/action.hpp>
#include <appkeys/result.hpp>

#include <memory>
#include <stop_token>
#include <utility>

namespace appkeys::detail {

/// Thread safety: used once, by one thread (the executor's).
template <AnyTransport T, steps::StepMachine Machine>
class CoreOperation {
 public:
  using value_type = typename Machine::value_type;
  static constexpr bool nonblocking = ClientCore<T>::nonblocking;

  CoreOperation(std::shared_ptr<ClientCore<T>> core, Machine machine, std::stop_token stop)
      : core_(std::move(core)), machine_(std::move(machine)), stop_(std::move(stop)) {}

  CoreOperation(CoreOperation&&) = default;
  CoreOperation& operator=(CoreOperation&&) = delete;

  Result<value_type> run_blocking() { return core_->run_blocking(take_machine(), stop_); }
  Result<value_type> operator()() { return run_blocking(); }
  void start(OperationCompletion<value_type> completion) {
    core_->start(take_machine(), std::move(completion), stop_);
  }

 private:
  Machine take_machine() {
    Machine machine = std::move(*machine_);
    machine_.reset();
    return machine;
  }

  std::shared_ptr<ClientCore<T>> core_;
  Slot<Machine> machine_;
  std::stop_token stop_;
};

/// An operation over `core` (which keeps it alive) running `machine`.
template <AnyTransport T, steps::StepMachine Machine>
CoreOperation<T, Machine> make_operation(ClientCore<T>& core, Machine machine,
                                         std::stop_token stop) {
  return CoreOperation<T, Machine>(core.shared_from_this(), std::move(machine), std::move(stop));
}

}  // namespace appkeys::detail
