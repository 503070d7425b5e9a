#include "core/shared_engine.h"

#include <torch/torch.h>

#include <chrono>
#include <exception>
#include <map>

#include "core/errors.h"

namespace fiancee {

namespace {

using Clock = std::chrono::steady_clock;

// Engines by name. Weak: an engine lives as long as one of its streams.
std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<SharedEngine>>& registry() {
  static std::map<std::string, std::weak_ptr<SharedEngine>> engines;
  return engines;
}

std::string scale_factor_of(const Engine& engine, const RouteSettings& s) {
  return s.scale_factor.empty() ? engine.manifest().default_scale_factor : s.scale_factor;
}

}  // namespace

struct SharedEngine::Request {
  torch::Tensor input, key;
  RouteSettings settings;
  std::string scale_factor;
  Clock::time_point deadline;
  EngineOutput output;
  std::exception_ptr error;
  bool done = false;
};

SharedEngine::SharedEngine(std::string name, std::string identity, std::unique_ptr<Engine> engine)
    : name_(std::move(name)), identity_(std::move(identity)), engine_(std::move(engine)) {}

int SharedEngine::streams() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return streams_;
}

SharedEngine::Stream::Stream(std::shared_ptr<SharedEngine> shared, double window_ms) : shared_(std::move(shared)), window_ms_(window_ms) {
  std::lock_guard<std::mutex> lock(shared_->mutex_);
  ++shared_->streams_;
}

SharedEngine::Stream::~Stream() {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex_);
    --shared_->streams_;
  }
  shared_->changed_.notify_all();  // a leader waiting for this stream's frame stops waiting
  std::lock_guard<std::mutex> lock(registry_mutex);
  shared_.reset();
  auto& engines = registry();
  for (auto it = engines.begin(); it != engines.end();) it = it->second.expired() ? engines.erase(it) : std::next(it);
}

EngineOutput SharedEngine::Stream::run(const torch::Tensor& input, const torch::Tensor& key, const RouteSettings& settings) {
  return shared_->submit(input, key, settings, window_ms_);
}

std::unique_ptr<SharedEngine::Stream> SharedEngine::join(const std::string& name, const std::string& identity, double window_ms,
                                                         const std::function<std::unique_ptr<Engine>()>& make) {
  if (name.empty()) throw InputError("shared-engine: the name is empty");
  if (!(window_ms >= 0)) throw InputError("shared-engine '" + name + "': batch window " + std::to_string(window_ms) + " ms is not >= 0");
  // Held while make() loads: a second stream of the same name waits for these weights instead of loading its own.
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto shared = registry()[name].lock();
  if (shared && shared->identity_ != identity)
    throw InputError("shared-engine '" + name + "' already runs " + shared->identity_ + "; this element asks for " + identity +
                     " (give it another shared-engine name, or the same model and device)");
  if (!shared) {
    shared = std::make_shared<SharedEngine>(name, identity, make());
    registry()[name] = shared;
  }
  return std::unique_ptr<Stream>(new Stream(shared, window_ms));
}

std::unique_ptr<SharedEngine::Stream> SharedEngine::own(std::unique_ptr<Engine> engine) {
  const std::string name = engine->manifest().name;
  return std::unique_ptr<Stream>(new Stream(std::make_shared<SharedEngine>(name, name, std::move(engine)), 0));
}

EngineOutput SharedEngine::submit(const torch::Tensor& input, const torch::Tensor& key, const RouteSettings& settings, double window_ms) {
  Request request;
  request.input = input;
  request.key = key;
  request.settings = settings;
  request.scale_factor = scale_factor_of(*engine_, settings);
  request.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(window_ms));

  std::unique_lock<std::mutex> lock(mutex_);
  queue_.push_back(&request);
  changed_.notify_all();
  while (!request.done) {
    if (running_ || queue_.front() != &request) {
      changed_.wait(lock);
      continue;
    }
    // This frame leads the next batch: the frames of its scale factor (and key kind) queued now.
    auto deadline = request.deadline;
    for (const Request* r : queue_) deadline = std::min(deadline, r->deadline);
    if (static_cast<int>(queue_.size()) < streams_ && Clock::now() < deadline) {
      changed_.wait_until(lock, deadline);
      continue;
    }
    std::vector<Request*> batch;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->scale_factor == request.scale_factor && (*it)->key.defined() == key.defined()) {
        batch.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    running_ = true;
    lock.unlock();
    run_batch(batch);
    lock.lock();
    running_ = false;
    for (Request* r : batch) r->done = true;
    changed_.notify_all();
  }
  if (request.error) std::rethrow_exception(request.error);
  return std::move(request.output);
}

void SharedEngine::run_batch(const std::vector<Request*>& batch) {
  const auto run_alone = [&](Request* r) {
    try {
      r->output = engine_->run(r->input, r->key, r->settings);
    } catch (...) {
      r->error = std::current_exception();
    }
  };
  if (batch.size() == 1) return run_alone(batch[0]);
  std::vector<torch::Tensor> inputs, keys;
  std::vector<RouteSettings> settings;
  // Gathered on the host: the engine then moves the whole batch in one pinned copy.
  for (const Request* r : batch) {
    inputs.push_back(r->input.to(torch::kCPU));
    if (r->key.defined()) keys.push_back(r->key.to(torch::kCPU));
    for (int64_t i = 0; i < r->input.size(0); ++i) settings.push_back(r->settings);
  }
  EngineOutput all;
  try {
    all = engine_->run(torch::cat(inputs), keys.empty() ? torch::Tensor() : torch::cat(keys), settings);
  } catch (...) {
    // One stream's broken frame must fail that stream alone: rerun each on its own.
    for (Request* r : batch) run_alone(r);
    return;
  }
  int64_t row = 0;
  for (Request* r : batch) {
    const int64_t n = r->input.size(0);
    r->output.images = all.images.slice(0, row, row + n);
    r->output.reports.assign(all.reports.begin() + row, all.reports.begin() + row + n);
    row += n;
  }
}

}  // namespace fiancee
