// Several streams through one Engine: one copy of the weights, and frames
// that arrive within a bounded window run as one batch (mixed exits, each
// frame routed by its own stream's settings: Engine::run per frame).
//
// Batching without a thread of its own: the oldest queued frame's caller
// leads. It waits until every joined stream has a frame queued, or until the
// earliest deadline (arrival + that stream's window) of the queued frames,
// then runs them all and hands each caller its own rows. Frames arriving
// while a batch runs queue for the next one. Each caller blocks on its own
// frame only, so per-stream order, reports and QoS stay per stream.
#pragma once

#include <torch/types.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/engine.h"

namespace fiancee {

class SharedEngine : public std::enable_shared_from_this<SharedEngine> {
 public:
  // One stream's handle: joined while it lives.
  class Stream {
   public:
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    // Thread-safe; blocks until this stream's frames (any N >= 1) have run,
    // in a batch with other streams' frames of the same scale factor. An
    // error of another stream's frame never reaches this one: a failed batch
    // is rerun frame group by frame group.
    EngineOutput run(const torch::Tensor& input, const torch::Tensor& key, const RouteSettings& settings);
    Engine& engine() const { return *shared_->engine_; }
    const std::string& name() const { return shared_->name_; }

   private:
    friend class SharedEngine;
    Stream(std::shared_ptr<SharedEngine> shared, double window_ms);
    std::shared_ptr<SharedEngine> shared_;
    double window_ms_;
  };

  // The process-wide engine called `name`, made by make() for its first
  // stream and released with its last. `identity` says what make() builds
  // (package, database, device); a stream asking for a name that runs
  // something else gets InputError naming both. window_ms: how long this
  // stream's frames may wait for other streams' frames (0 = never waits).
  static std::unique_ptr<Stream> join(const std::string& name, const std::string& identity, double window_ms,
                                      const std::function<std::unique_ptr<Engine>()>& make);
  // An engine of one stream's own (no registry, never waits).
  static std::unique_ptr<Stream> own(std::unique_ptr<Engine> engine);

  SharedEngine(std::string name, std::string identity, std::unique_ptr<Engine> engine);
  int streams() const;  // joined now

 private:
  struct Request;
  EngineOutput submit(const torch::Tensor& input, const torch::Tensor& key, const RouteSettings& settings, double window_ms);
  void run_batch(const std::vector<Request*>& batch);

  const std::string name_, identity_;
  const std::unique_ptr<Engine> engine_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Request*> queue_;
  int streams_ = 0;
  bool running_ = false;
};

}  // namespace fiancee
