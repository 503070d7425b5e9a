// GstFianceeFilter: see gstfianceefilter.h. Everything common to the fiancee
// elements: properties, model loading, frame mapping, metadata, stats, bus
// messages, QoS degradation and latency reporting.
#include "plugin/gstfianceefilter.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/defaults.h"
#include "core/element_error.h"
#include "core/exit_hysteresis.h"
#include "core/errors.h"
#include "core/frame_log.h"
#include "core/frame_report.h"
#include "core/latency_estimator.h"
#include "core/route_stats.h"
#include "core/route_times.h"
#include "core/runtime.h"
#include "core/warning_limiter.h"
#include "plugin/fianceemeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_fiancee_filter_debug);
#define GST_CAT_DEFAULT gst_fiancee_filter_debug

namespace {

constexpr int kMaxExit = 63;
constexpr guint kDefaultSummaryInterval = 100;
constexpr gboolean kDefaultQosDegrade = TRUE;
constexpr guint kDefaultThreads = 0;  // runtime::set_threads: all cores the process may use
constexpr guint kMaxThreads = 1024;
constexpr guint kMaxExitHysteresis = 100000;
constexpr double kMaxTargetMissRate = 0.5;
constexpr double kMaxLatencyBudgetMs = 60000;
// Frames in a row the budget may render without the network before one network
// frame re-times the fastest route (the machine's load may have dropped).
constexpr int kMaxNoNetworkStreak = 30;

enum {
  PROP_0,
  PROP_MODEL_LOCATION,
  PROP_DATABASE_LOCATION,
  PROP_QUALITY_THRESHOLD,
  PROP_SCALE_FACTOR,
  PROP_DEVICE,
  PROP_EXIT,
  PROP_SUMMARY_INTERVAL,
  PROP_QOS_DEGRADE,
  PROP_STATS,
  PROP_STATS_LOCATION,
  PROP_MEASURE_QUALITY,
  PROP_THREADS,
  PROP_EXIT_HYSTERESIS,
  PROP_TARGET_MISS_RATE,
  PROP_LATENCY_BUDGET,
  PROP_SHARED_ENGINE,
  PROP_BATCH_WINDOW,
  PROP_PRECISION,
};

struct Settings {
  std::string model_location;
  std::string database_location;
  double quality_threshold = fiancee::defaults::kQualityThreshold;
  bool threshold_set = false;  // set by the application; otherwise the package's default applies at start
  std::string scale_factor;  // "" = package default
  fiancee::Device device = fiancee::Device::Auto;
  fiancee::Precision precision = fiancee::Precision::Fp32;
  int exit = fiancee::defaults::kPredictedRoute;
  guint summary_interval = kDefaultSummaryInterval;
  bool qos_degrade = kDefaultQosDegrade;
  std::string stats_location;  // per-frame CSV; "" = none
  bool measure_quality = false;
  guint threads = kDefaultThreads;
  guint exit_hysteresis = 0;  // frames; 0 = off
  double target_miss_rate = 0;   // 0 = off
  double latency_budget_ms = 0;  // 0 = off
  fiancee::EngineSharing sharing;  // name "" = an engine of its own
};

struct Impl {
  // Guards settings, loaded, info, stats, window, warnings.
  std::mutex lock;
  Settings settings;
  bool loaded = false;           // between a successful start and stop: settings are validated against info
  fiancee::PipelineInfo info;    // the loaded pipeline's; kept after stop for `stats`
  fiancee::RouteStats stats;     // since start
  fiancee::RouteStats window;    // since the last summary message
  fiancee::WarningLimiter warnings;

  // Streaming thread (and start/stop, which never overlap it).
  std::unique_ptr<fiancee::FramePipeline> pipeline;
  std::unique_ptr<fiancee::FrameLog> frame_log;
  fiancee::ExitHysteresis hysteresis;
  fiancee::RouteTimes route_times;
  int no_network_streak = 0;  // frames in a row the budget rendered without the network
  bool have_size = false;
  int width = 0, height = 0;

  // QoS: running time before which buffers are late (GST_CLOCK_TIME_NONE: none).
  std::mutex qos_lock;
  GstClockTime earliest = GST_CLOCK_TIME_NONE;

  std::mutex latency_lock;  // guards latency
  fiancee::LatencyEstimator latency;
};

struct GstFianceeFilterPrivate {
  Impl* impl;
};

}  // namespace

G_DEFINE_ABSTRACT_TYPE_WITH_CODE(GstFianceeFilter, gst_fiancee_filter, GST_TYPE_VIDEO_FILTER,
                                 G_ADD_PRIVATE(GstFianceeFilter);
                                 GST_DEBUG_CATEGORY_INIT(gst_fiancee_filter_debug, "fianceefilter", 0,
                                                         "fiancee early-exit element base class"))

namespace {

Impl& impl(GstFianceeFilter* self) {
  auto* priv = static_cast<GstFianceeFilterPrivate*>(gst_fiancee_filter_get_instance_private(self));
  return *priv->impl;
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string value_string(const GValue* value) {
  const gchar* s = g_value_get_string(value);
  return s ? s : "";
}

GValue uint64_array(const std::vector<int64_t>& counts, int min_size) {
  GValue arr = G_VALUE_INIT;
  g_value_init(&arr, GST_TYPE_ARRAY);
  const size_t n = std::max(counts.size(), static_cast<size_t>(std::max(min_size, 0)));
  for (size_t i = 0; i < n; ++i) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_UINT64);
    g_value_set_uint64(&v, i < counts.size() ? static_cast<guint64>(counts[i]) : 0);
    gst_value_array_append_and_take_value(&arr, &v);
  }
  return arr;
}

// Called with d.lock held.
GstStructure* stats_structure(const char* name, const Impl& d) {
  const fiancee::RouteStats& s = d.stats;
  GstStructure* st = gst_structure_new(name,
      "frames", G_TYPE_UINT64, static_cast<guint64>(s.frames()),
      NULL);
  GValue counts = uint64_array(s.exit_counts(), d.info.num_exits);
  gst_structure_take_value(st, "exit-counts", &counts);
  gst_structure_set(st,
      "late-frames", G_TYPE_UINT64, static_cast<guint64>(s.late_frames()),
      "fallback-frames", G_TYPE_UINT64, static_cast<guint64>(s.fallback_frames()),
      "passthrough-frames", G_TYPE_UINT64, static_cast<guint64>(s.passthrough_frames()),
      "exit-switches", G_TYPE_UINT64, static_cast<guint64>(s.exit_switches()),
      "held-frames", G_TYPE_UINT64, static_cast<guint64>(s.held_frames()),
      "budget-limited-frames", G_TYPE_UINT64, static_cast<guint64>(s.budget_limited_frames()),
      "over-budget-frames", G_TYPE_UINT64, static_cast<guint64>(s.over_budget_frames()),
      "batched-frames", G_TYPE_UINT64, static_cast<guint64>(s.batched_frames()),
      "mean-gflops", G_TYPE_DOUBLE, s.mean_gflops(),
      "mean-ms", G_TYPE_DOUBLE, s.mean_ms(),
      "saved-share", G_TYPE_DOUBLE, s.saved_share(),
      "num-exits", G_TYPE_INT, d.info.num_exits,
      NULL);
  GValue sfs = G_VALUE_INIT;
  g_value_init(&sfs, GST_TYPE_ARRAY);
  for (const auto& sf : d.info.scale_factors) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_STRING);
    g_value_set_string(&v, sf.c_str());
    gst_value_array_append_and_take_value(&sfs, &v);
  }
  gst_structure_take_value(st, "scale-factors", &sfs);
  gst_structure_set(st,
      "default-scale-factor", G_TYPE_STRING, d.info.default_scale_factor.c_str(),
      "metric", G_TYPE_STRING, d.info.metric_name.c_str(),
      "metric-unit", G_TYPE_STRING, d.info.metric_unit.c_str(),
      "device", G_TYPE_STRING, d.info.device_name.c_str(),
      "precision", G_TYPE_STRING, d.info.precision_name.c_str(),
      "backbone-gflops", G_TYPE_DOUBLE, d.info.backbone_gflops,
      NULL);
  return st;
}

// Called with d.lock held.
GstStructure* summary_structure(const Impl& d) {
  GstStructure* st = stats_structure("fiancee-summary", d);
  const fiancee::RouteStats& w = d.window;
  GValue counts = uint64_array(w.exit_counts(), d.info.num_exits);
  gst_structure_set(st,
      "frames-in-window", G_TYPE_UINT64, static_cast<guint64>(w.frames()),
      "window-late-frames", G_TYPE_UINT64, static_cast<guint64>(w.late_frames()),
      "window-fallback-frames", G_TYPE_UINT64, static_cast<guint64>(w.fallback_frames()),
      "window-exit-switches", G_TYPE_UINT64, static_cast<guint64>(w.exit_switches()),
      "window-budget-limited-frames", G_TYPE_UINT64, static_cast<guint64>(w.budget_limited_frames()),
      "window-over-budget-frames", G_TYPE_UINT64, static_cast<guint64>(w.over_budget_frames()),
      "window-mean-gflops", G_TYPE_DOUBLE, w.mean_gflops(),
      "window-mean-ms", G_TYPE_DOUBLE, w.mean_ms(),
      "window-saved-share", G_TYPE_DOUBLE, w.saved_share(),
      NULL);
  gst_structure_take_value(st, "window-exit-counts", &counts);
  return st;
}

fiancee::ImageView image_view(GstVideoFrame* frame) {
  fiancee::ImageView v;
  v.data = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0));
  v.width = GST_VIDEO_FRAME_WIDTH(frame);
  v.height = GST_VIDEO_FRAME_HEIGHT(frame);
  v.stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  v.channels = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, 0);
  return v;
}

// The GError domain and code of an error the engine described.
std::pair<GQuark, gint> gst_error_of(const fiancee::ElementError& e) {
  using Code = fiancee::ErrorCode;
  switch (e.domain) {
    case fiancee::ErrorDomain::Core:
      return {GST_CORE_ERROR, GST_CORE_ERROR_FAILED};
    case fiancee::ErrorDomain::Resource:
      switch (e.code) {
        case Code::NotFound: return {GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND};
        case Code::Settings: return {GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS};
        case Code::OpenWrite: return {GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE};
        default: return {GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED};
      }
    case fiancee::ErrorDomain::Stream:
      break;
  }
  return {GST_STREAM_ERROR, e.code == Code::Format ? GST_STREAM_ERROR_FORMAT : GST_STREAM_ERROR_FAILED};
}

// GST_ELEMENT_ERROR for a domain and code known only at run time; `function`
// and `line` are the caller's, for the debug text.
void post_error(GstFianceeFilter* self, const fiancee::ElementError& e, const char* function, int line) {
  const auto [domain, code] = gst_error_of(e);
  GST_WARNING_OBJECT(self, "error: %s", e.message.c_str());
  if (!e.debug.empty()) GST_WARNING_OBJECT(self, "error: %s", e.debug.c_str());
  gst_element_message_full(GST_ELEMENT(self), GST_MESSAGE_ERROR, domain, code, g_strdup(e.message.c_str()),
                           e.debug.empty() ? nullptr : g_strdup(e.debug.c_str()), __FILE__, function, line);
}

const char* device_nick(fiancee::Device d) {
  switch (d) {
    case fiancee::Device::Cpu: return "cpu";
    case fiancee::Device::Cuda: return "cuda";
    default: return "auto";
  }
}

}  // namespace

GType gst_fiancee_device_get_type(void) {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<gint>(fiancee::Device::Auto), "CUDA when this build and machine have it, else CPU", "auto"},
        {static_cast<gint>(fiancee::Device::Cpu), "CPU", "cpu"},
        {static_cast<gint>(fiancee::Device::Cuda), "CUDA GPU (error when unavailable)", "cuda"},
        {0, nullptr, nullptr},
    };
    GType t = g_enum_register_static("GstFianceeDevice", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_fiancee_precision_get_type(void) {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<gint>(fiancee::Precision::Fp32), "32-bit float", "fp32"},
        {static_cast<gint>(fiancee::Precision::Bf16), "bfloat16 weights and activations (CPU with AVX-512 BF16 or AMX; CUDA)", "bf16"},
        {0, nullptr, nullptr},
    };
    GType t = g_enum_register_static("GstFianceePrecision", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

std::string gst_fiancee_filter_get_model_location(GstFianceeFilter* filter) {
  Impl& d = impl(filter);
  std::lock_guard<std::mutex> g(d.lock);
  return d.settings.model_location;
}

// ---------------------------------------------------------------- properties

// Non-empty when target-miss-rate is set but the package cannot honour it at the
// scale factor in use: the router then behaves as without it.
static std::string calibration_warning(const Settings& s, const fiancee::PipelineInfo& info) {
  const std::string sf = s.scale_factor.empty() ? info.default_scale_factor : s.scale_factor;
  const auto& have = info.calibrated_scale_factors;
  if (!(s.target_miss_rate > 0) || std::find(have.begin(), have.end(), sf) != have.end()) return "";
  return "target-miss-rate=" + std::to_string(s.target_miss_rate) + " is ignored: model package '" + s.model_location +
         "' has no calibration frames for scale factor " + sf + " (run `fiancee calibrate` on it); routing on quality-threshold alone";
}

static void gst_fiancee_filter_set_property(GObject* object, guint prop_id, const GValue* value,
                                            GParamSpec* pspec) {
  auto* self = GST_FIANCEE_FILTER(object);
  Impl& d = impl(self);
  std::string warning;
  bool restart_note = false, repost_latency = false;
  {
    std::lock_guard<std::mutex> g(d.lock);
    Settings& s = d.settings;
    switch (prop_id) {
      case PROP_MODEL_LOCATION:
        s.model_location = value_string(value);
        restart_note = d.loaded;
        break;
      case PROP_DATABASE_LOCATION:
        s.database_location = value_string(value);
        restart_note = d.loaded;
        break;
      case PROP_DEVICE:
        s.device = static_cast<fiancee::Device>(g_value_get_enum(value));
        restart_note = d.loaded;
        break;
      case PROP_QUALITY_THRESHOLD:
        s.quality_threshold = g_value_get_double(value);
        s.threshold_set = true;
        break;
      case PROP_SCALE_FACTOR: {
        std::string sf = value_string(value);
        const auto& valid = d.info.scale_factors;
        if (d.loaded && !sf.empty() && std::find(valid.begin(), valid.end(), sf) == valid.end()) {
          warning = "scale-factor '" + sf + "' is not available in model package '" + s.model_location +
                    "' (valid: " + join(valid) + "); keeping '" +
                    (s.scale_factor.empty() ? d.info.default_scale_factor : s.scale_factor) + "'";
        } else {
          s.scale_factor = sf;
        }
        break;
      }
      case PROP_EXIT: {
        int e = g_value_get_int(value);
        if (d.loaded && e >= d.info.num_exits) {
          warning = "exit " + std::to_string(e) + " does not exist in model package '" + s.model_location +
                    "' (it has " + std::to_string(d.info.num_exits) + " exits: 0.." +
                    std::to_string(d.info.num_exits - 1) + ", or -1 for the predicted route); keeping " +
                    std::to_string(s.exit);
        } else {
          s.exit = e;
        }
        break;
      }
      case PROP_SUMMARY_INTERVAL:
        s.summary_interval = g_value_get_uint(value);
        break;
      case PROP_STATS_LOCATION:
        d.settings.stats_location = g_value_get_string(value) ? g_value_get_string(value) : "";
        break;
      case PROP_MEASURE_QUALITY:
        d.settings.measure_quality = g_value_get_boolean(value);
        break;
      case PROP_QOS_DEGRADE:
        s.qos_degrade = g_value_get_boolean(value);
        break;
      case PROP_THREADS:
        s.threads = g_value_get_uint(value);
        restart_note = d.loaded;
        break;
      case PROP_PRECISION:
        s.precision = static_cast<fiancee::Precision>(g_value_get_enum(value));
        restart_note = d.loaded;
        break;
      case PROP_SHARED_ENGINE:
        s.sharing.name = value_string(value);
        restart_note = d.loaded;
        break;
      case PROP_BATCH_WINDOW:
        s.sharing.window_ms = g_value_get_double(value);
        restart_note = d.loaded;
        break;
      case PROP_EXIT_HYSTERESIS:
        s.exit_hysteresis = g_value_get_uint(value);
        break;
      case PROP_TARGET_MISS_RATE:
        s.target_miss_rate = g_value_get_double(value);
        if (d.loaded) warning = calibration_warning(s, d.info);
        break;
      case PROP_LATENCY_BUDGET:
        s.latency_budget_ms = g_value_get_double(value);
        repost_latency = d.loaded;
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
  }
  if (restart_note)
    GST_WARNING_OBJECT(self, "%s changed while running: takes effect at the next start (READY -> PAUSED)",
                       pspec->name);
  if (!warning.empty()) GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", warning.c_str()), (NULL));
  if (repost_latency) gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

static void gst_fiancee_filter_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_FIANCEE_FILTER(object);
  Impl& d = impl(self);
  std::lock_guard<std::mutex> g(d.lock);
  const Settings& s = d.settings;
  switch (prop_id) {
    case PROP_MODEL_LOCATION: g_value_set_string(value, s.model_location.c_str()); break;
    case PROP_DATABASE_LOCATION: g_value_set_string(value, s.database_location.c_str()); break;
    case PROP_QUALITY_THRESHOLD: g_value_set_double(value, s.quality_threshold); break;
    case PROP_SCALE_FACTOR: g_value_set_string(value, s.scale_factor.c_str()); break;
    case PROP_DEVICE: g_value_set_enum(value, static_cast<gint>(s.device)); break;
    case PROP_EXIT: g_value_set_int(value, s.exit); break;
    case PROP_SUMMARY_INTERVAL: g_value_set_uint(value, s.summary_interval); break;
    case PROP_QOS_DEGRADE: g_value_set_boolean(value, s.qos_degrade); break;
    case PROP_STATS: g_value_take_boxed(value, stats_structure("fiancee-stats", d)); break;
    case PROP_STATS_LOCATION: g_value_set_string(value, s.stats_location.c_str()); break;
    case PROP_MEASURE_QUALITY: g_value_set_boolean(value, s.measure_quality); break;
    case PROP_THREADS: g_value_set_uint(value, s.threads); break;
    case PROP_PRECISION: g_value_set_enum(value, static_cast<gint>(s.precision)); break;
    case PROP_SHARED_ENGINE: g_value_set_string(value, s.sharing.name.c_str()); break;
    case PROP_BATCH_WINDOW: g_value_set_double(value, s.sharing.window_ms); break;
    case PROP_EXIT_HYSTERESIS: g_value_set_uint(value, s.exit_hysteresis); break;
    case PROP_TARGET_MISS_RATE: g_value_set_double(value, s.target_miss_rate); break;
    case PROP_LATENCY_BUDGET: g_value_set_double(value, s.latency_budget_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

// ---------------------------------------------------------------- start/stop

// A stats-location that stops taking lines (disk full, I/O error) costs the
// log, not the video: one warning naming the file and the OS error, then no more lines.
static void post_log_lost(GstFianceeFilter* self, const fiancee::FrameLogError& e, const std::string& when) {
  GST_ELEMENT_WARNING(self, RESOURCE, WRITE, ("%s; per-frame logging stopped, the video goes on.", e.what()),
                      ("%s", when.c_str()));
}

// Errors for settings the loaded package cannot honour; false after posting one.
static bool package_settings_valid(GstFianceeFilter* self, const Settings& s, const fiancee::PipelineInfo& info) {
  const char* model = s.model_location.c_str();
  if (!s.scale_factor.empty() &&
      std::find(info.scale_factors.begin(), info.scale_factors.end(), s.scale_factor) == info.scale_factors.end()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("scale-factor '%s' is not available in model package '%s'; valid scale factors: %s.",
                       s.scale_factor.c_str(), model, join(info.scale_factors).c_str()),
                      (NULL));
    return false;
  }
  if (s.exit >= info.num_exits) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("exit %d does not exist in model package '%s': it has %d exits (0..%d; -1 = predicted "
                       "route).", s.exit, model, info.num_exits, info.num_exits - 1),
                      (NULL));
    return false;
  }
  return true;
}

static gboolean gst_fiancee_filter_start(GstBaseTransform* trans) {
  auto* self = GST_FIANCEE_FILTER(trans);
  Impl& d = impl(self);
  Settings s;
  {
    std::lock_guard<std::mutex> g(d.lock);
    s = d.settings;
    d.loaded = false;
    d.stats.reset();
    d.window.reset();
    d.warnings.reset();
  }
  {
    std::lock_guard<std::mutex> g(d.qos_lock);
    d.earliest = GST_CLOCK_TIME_NONE;
  }
  {
    std::lock_guard<std::mutex> g(d.latency_lock);
    d.latency.reset();
  }
  d.have_size = false;
  d.pipeline.reset();
  d.frame_log.reset();

  const char* model = s.model_location.c_str();
  if (s.model_location.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("No model package given: set the model-location property."),
                      (NULL));
    return FALSE;
  }
  if (!g_file_test(model, G_FILE_TEST_EXISTS)) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Model package '%s' not found.", model),
                      ("model-location=%s does not exist", model));
    return FALSE;
  }
  if (!s.database_location.empty() && !g_file_test(s.database_location.c_str(), G_FILE_TEST_EXISTS)) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Guide database '%s' not found.", s.database_location.c_str()),
                      ("database-location=%s does not exist", s.database_location.c_str()));
    return FALSE;
  }

  auto* klass = GST_FIANCEE_FILTER_GET_CLASS(self);
  if (!klass->create_pipeline) {
    GST_ELEMENT_ERROR(self, CORE, NOT_IMPLEMENTED, ("%s does not implement create_pipeline()",
                      G_OBJECT_TYPE_NAME(self)), (NULL));
    return FALSE;
  }

  GstFianceeLoadSettings load;
  load.model_location = s.model_location;
  load.database_location = s.database_location;
  load.device = s.device;
  load.sharing = s.sharing;
  load.precision = s.precision;

  std::unique_ptr<fiancee::FramePipeline> pipeline;
  std::unique_ptr<fiancee::FrameLog> frame_log;
  auto phase = fiancee::ErrorPhase::Load;
  try {
    // Only once an element starts, so merely loading the plugin (e.g. by
    // gst-inspect) leaves the host's allocator alone.
    fiancee::runtime::tune_allocator();
    const int threads = fiancee::runtime::set_threads(static_cast<int>(s.threads));
    GST_INFO_OBJECT(self, "LibTorch intra-op threads: %d (process-wide)", threads);
    pipeline = klass->create_pipeline(self, load);
    if (!pipeline) throw fiancee::Error("the pipeline factory returned nothing");
    if (!package_settings_valid(self, s, pipeline->info())) return FALSE;
    phase = fiancee::ErrorPhase::OpenStats;
    if (!s.stats_location.empty())
      frame_log = std::make_unique<fiancee::FrameLog>(s.stats_location, pipeline->info().num_exits);
  } catch (...) {
    fiancee::ErrorContext context;
    context.model_location = s.model_location;
    context.database_location = s.database_location;
    context.device = device_nick(s.device);
    context.stats_location = s.stats_location;
    post_error(self, fiancee::describe_error(std::current_exception(), phase, context), GST_FUNCTION, __LINE__);
    return FALSE;
  }

  const fiancee::PipelineInfo& info = pipeline->info();
  GST_INFO_OBJECT(self, "loaded '%s': %d exits, scale factors [%s] (default %s), metric %s (%s), device %s, "
                  "backbone %.1f GFLOPs", model, info.num_exits, join(info.scale_factors).c_str(),
                  info.default_scale_factor.c_str(), info.metric_name.c_str(), info.metric_unit.c_str(),
                  info.device_name.c_str(), info.backbone_gflops);
  {
    std::lock_guard<std::mutex> g(d.lock);
    if (!d.settings.threshold_set) d.settings.quality_threshold = info.default_threshold;
    d.info = info;
    d.loaded = true;
  }
  d.frame_log = std::move(frame_log);
  d.hysteresis.reset();
  d.route_times.reset();
  d.no_network_streak = 0;
  if (const std::string w = calibration_warning(s, info); !w.empty())
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", w.c_str()), (NULL));
  d.pipeline = std::move(pipeline);
  return TRUE;
}

static gboolean gst_fiancee_filter_stop(GstBaseTransform* trans) {
  auto* self = GST_FIANCEE_FILTER(trans);
  Impl& d = impl(self);
  {
    std::lock_guard<std::mutex> g(d.lock);
    d.loaded = false;
  }
  if (d.frame_log) {
    try {
      d.frame_log->close();  // the last buffered lines: a short run's whole log
    } catch (const fiancee::FrameLogError& e) {
      post_log_lost(self, e, "at stop");
    }
    d.frame_log.reset();
  }
  try {
    d.pipeline.reset();
  } catch (...) {
    GST_WARNING_OBJECT(self, "exception while releasing the pipeline");
  }
  d.have_size = false;
  fiancee::runtime::release_free_memory();
  return TRUE;
}

// ---------------------------------------------------------------- caps

static gboolean gst_fiancee_filter_set_info(GstVideoFilter* filter, GstCaps* incaps, GstVideoInfo* in_info,
                                            GstCaps* outcaps, GstVideoInfo* out_info) {
  auto* self = GST_FIANCEE_FILTER(filter);
  Impl& d = impl(self);
  const int w = GST_VIDEO_INFO_WIDTH(in_info), h = GST_VIDEO_INFO_HEIGHT(in_info);
  GST_DEBUG_OBJECT(self, "in caps %" GST_PTR_FORMAT ", out caps %" GST_PTR_FORMAT, incaps, outcaps);
  (void)out_info;
  if (d.have_size && d.pipeline && (w != d.width || h != d.height)) {
    GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                        ("input resolution changed from %dx%d to %dx%d mid-stream; continuing at the new size",
                         d.width, d.height, w, h),
                        (NULL));
  }
  d.have_size = true;
  d.width = w;
  d.height = h;
  return TRUE;
}

// ---------------------------------------------------------------- events / queries

static gboolean gst_fiancee_filter_src_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_FIANCEE_FILTER(trans);
  Impl& d = impl(self);
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;
    gst_event_parse_qos(event, &type, &proportion, &diff, &timestamp);
    if (GST_CLOCK_TIME_IS_VALID(timestamp)) {
      // Same rule as the video decoders: when late, skip ahead by twice the lateness.
      const GstClockTime earliest = diff > 0 ? timestamp + 2 * static_cast<GstClockTime>(diff) : timestamp;
      std::lock_guard<std::mutex> g(d.qos_lock);
      d.earliest = earliest;
    }
    GST_LOG_OBJECT(self, "QoS: proportion %g, diff %" G_GINT64_FORMAT ", timestamp %" GST_TIME_FORMAT, proportion,
                   diff, GST_TIME_ARGS(timestamp));
  }
  return GST_BASE_TRANSFORM_CLASS(gst_fiancee_filter_parent_class)->src_event(trans, event);
}

static gboolean gst_fiancee_filter_sink_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_FIANCEE_FILTER(trans);
  Impl& d = impl(self);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    std::lock_guard<std::mutex> g(d.qos_lock);
    d.earliest = GST_CLOCK_TIME_NONE;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_fiancee_filter_parent_class)->sink_event(trans, event);
}

static gboolean gst_fiancee_filter_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  auto* self = GST_FIANCEE_FILTER(trans);
  Impl& d = impl(self);
  gboolean ok = GST_BASE_TRANSFORM_CLASS(gst_fiancee_filter_parent_class)->query(trans, direction, query);
  if (ok && direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    GstClockTime ours;
    {
      std::lock_guard<std::mutex> g(d.latency_lock);
      ours = d.latency.announce();
    }
    {
      // With a budget the element promises that time per frame: a sink that waited
      // for the backbone's worst case would hold back every frame the budget made fast.
      std::lock_guard<std::mutex> g(d.lock);
      if (d.settings.latency_budget_ms > 0) ours = static_cast<GstClockTime>(d.settings.latency_budget_ms * GST_MSECOND);
    }
    if (GST_CLOCK_TIME_IS_VALID(min)) min += ours;
    if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
    GST_DEBUG_OBJECT(self, "latency: ours %" GST_TIME_FORMAT ", total min %" GST_TIME_FORMAT ", max %" GST_TIME_FORMAT,
                     GST_TIME_ARGS(ours), GST_TIME_ARGS(min), GST_TIME_ARGS(max));
    gst_query_set_latency(query, live, min, max);
  }
  return ok;
}

static gboolean gst_fiancee_filter_transform_meta(GstBaseTransform* trans, GstBuffer* outbuf, GstMeta* meta,
                                                  GstBuffer* inbuf) {
  // An upstream fiancee element's report does not describe our output: we attach our own.
  if (fiancee_frame_meta_is(meta)) return FALSE;
  return GST_BASE_TRANSFORM_CLASS(gst_fiancee_filter_parent_class)->transform_meta(trans, outbuf, meta, inbuf);
}

// ---------------------------------------------------------------- frames

static void post_report_warning(GstFianceeFilter* self, Impl& d, const std::string& warning, const std::string& model,
                                guint64 frame) {
  fiancee::WarningLimiter::Action action;
  size_t max_distinct;
  {
    std::lock_guard<std::mutex> g(d.lock);
    action = d.warnings.admit(warning);
    max_distinct = d.warnings.max_distinct();
  }
  switch (action) {
    case fiancee::WarningLimiter::Action::Post:
      GST_ELEMENT_WARNING(self, STREAM, FAILED, ("%s", warning.c_str()),
                          ("model-location=%s, first at frame %" G_GUINT64_FORMAT
                           "; each distinct warning is posted once per run", model.c_str(), frame));
      break;
    case fiancee::WarningLimiter::Action::PostSuppressed:
      GST_ELEMENT_WARNING(self, STREAM, FAILED,
                          ("More than %u distinct warnings from model package '%s'; further ones are only logged.",
                           static_cast<guint>(max_distinct), model.c_str()),
                          ("latest: %s", warning.c_str()));
      break;
    case fiancee::WarningLimiter::Action::Log:
      GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": %s (already posted)", frame, warning.c_str());
      break;
  }
}

static void update_latency(GstFianceeFilter* self, Impl& d, const fiancee::FrameReport& report) {
  bool repost;
  GstClockTime estimate;
  {
    std::lock_guard<std::mutex> g(d.latency_lock);
    repost = d.latency.push(report);
    estimate = d.latency.estimate_ns();
  }
  if (repost) {
    GST_INFO_OBJECT(self, "processing latency estimate now %" GST_TIME_FORMAT ", asking for a re-query",
                    GST_TIME_ARGS(estimate));
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
}

static GstFlowReturn gst_fiancee_filter_transform_frame(GstVideoFilter* filter, GstVideoFrame* in_frame,
                                                        GstVideoFrame* out_frame) {
  auto* self = GST_FIANCEE_FILTER(filter);
  Impl& d = impl(self);
  if (!d.pipeline) {
    GST_ELEMENT_ERROR(self, CORE, STATE_CHANGE, ("No model loaded (element not started)."), (NULL));
    return GST_FLOW_ERROR;
  }

  fiancee::RouteSettings rs;
  guint summary_interval;
  int hold;
  bool qos_degrade;
  std::string model;
  guint64 frame_no;
  {
    std::lock_guard<std::mutex> g(d.lock);
    rs.quality_threshold = d.settings.quality_threshold;
    rs.scale_factor = d.settings.scale_factor;
    rs.forced_exit = d.settings.exit;
    rs.measure = d.settings.measure_quality;
    rs.target_miss_rate = d.settings.target_miss_rate;
    rs.latency_budget_ms = d.settings.latency_budget_ms;
    if (rs.latency_budget_ms > 0) {
      const auto it = d.info.route_gflops.find(rs.scale_factor.empty() ? d.info.default_scale_factor : rs.scale_factor);
      if (it != d.info.route_gflops.end()) rs.route_ms = d.route_times.estimate_ms(it->second);
      // No network route fits: the warp alone is the fastest route there is.
      rs.no_network = d.info.renders_without_network && rs.forced_exit < 0 && !rs.route_ms.empty() &&
                      *std::min_element(rs.route_ms.begin(), rs.route_ms.end()) > rs.latency_budget_ms &&
                      d.no_network_streak < kMaxNoNetworkStreak;
      d.no_network_streak = rs.no_network ? d.no_network_streak + 1 : 0;
    }
    summary_interval = d.settings.summary_interval;
    hold = static_cast<int>(d.settings.exit_hysteresis);
    qos_degrade = d.settings.qos_degrade;
    model = d.settings.model_location;
    frame_no = static_cast<guint64>(d.stats.frames());
  }

  // Running time exists only in TIME segments (appsrc's default is BYTES): no QoS decision otherwise.
  const GstSegment& segment = GST_BASE_TRANSFORM(self)->segment;
  if (qos_degrade && segment.format == GST_FORMAT_TIME) {
    const GstClockTime pts = GST_BUFFER_PTS(in_frame->buffer);
    const GstClockTime running_time = gst_segment_to_running_time(&segment, GST_FORMAT_TIME, pts);
    std::lock_guard<std::mutex> g(d.qos_lock);
    if (GST_CLOCK_TIME_IS_VALID(running_time) && GST_CLOCK_TIME_IS_VALID(d.earliest) && running_time <= d.earliest) {
      rs.late = true;
      GST_LOG_OBJECT(self, "late frame: running time %" GST_TIME_FORMAT " <= earliest %" GST_TIME_FORMAT,
                     GST_TIME_ARGS(running_time), GST_TIME_ARGS(d.earliest));
    }
  }

  const fiancee::ImageView in = image_view(in_frame);
  const fiancee::ImageView out = image_view(out_frame);
  fiancee::FrameReport report;
  auto phase = fiancee::ErrorPhase::Frame;
  try {
    fiancee::runtime::apply_threads();  // this streaming thread may predate the `threads` setting
    rs.min_exit = d.hysteresis.floor(hold);
    const auto t0 = std::chrono::steady_clock::now();
    d.pipeline->process(in, out, rs, report);
    report.frame_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    report.over_budget = rs.latency_budget_ms > 0 && report.frame_ms > rs.latency_budget_ms;
    if (rs.no_network && report.exit < 0 && !report.passthrough) report.budget_limited = true;
    d.hysteresis.update(report, hold);
    d.route_times.push(report);

    phase = fiancee::ErrorPhase::Record;
    fiancee_frame_meta_add(out_frame->buffer, report);
    if (d.frame_log) {
      try {
        d.frame_log->write(frame_no, static_cast<int64_t>(GST_BUFFER_PTS(in_frame->buffer)), report);
      } catch (const fiancee::FrameLogError& e) {
        d.frame_log.reset();
        post_log_lost(self, e, "at frame " + std::to_string(frame_no));
      }
    }

    if (!report.warning.empty()) post_report_warning(self, d, report.warning, model, frame_no);

    GstStructure* summary = nullptr;
    {
      std::lock_guard<std::mutex> g(d.lock);
      d.stats.add(report);
      d.window.add(report);
      if (summary_interval > 0 && d.window.frames() >= static_cast<int64_t>(summary_interval)) {
        summary = summary_structure(d);
        d.window.reset();
      }
    }
    if (summary) gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), summary));

    update_latency(self, d, report);
  } catch (...) {
    fiancee::ErrorContext context;
    context.model_location = model;
    context.frame = frame_no;
    context.width = in.width;
    context.height = in.height;
    post_error(self, fiancee::describe_error(std::current_exception(), phase, context), GST_FUNCTION, __LINE__);
    return GST_FLOW_ERROR;
  }

  GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": exit %d/%d%s%s%s, %.2f GFLOPs, %.2f ms", frame_no, report.exit,
                 report.num_exits, report.forced ? " forced" : "", report.late ? " late" : "",
                 report.fell_back ? " fell-back" : "", report.gflops, report.total_ms);
  return GST_FLOW_OK;
}

// ---------------------------------------------------------------- GObject

static void gst_fiancee_filter_finalize(GObject* object) {
  auto* priv = static_cast<GstFianceeFilterPrivate*>(
      gst_fiancee_filter_get_instance_private(GST_FIANCEE_FILTER(object)));
  delete priv->impl;
  priv->impl = nullptr;
  G_OBJECT_CLASS(gst_fiancee_filter_parent_class)->finalize(object);
}

static void gst_fiancee_filter_init(GstFianceeFilter* self) {
  auto* priv = static_cast<GstFianceeFilterPrivate*>(gst_fiancee_filter_get_instance_private(self));
  priv->impl = new Impl();
  // We never drop late frames; we render them with the cheapest exit (qos-degrade).
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}

static void gst_fiancee_filter_class_init(GstFianceeFilterClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_fiancee_filter_set_property;
  gobject_class->get_property = gst_fiancee_filter_get_property;
  gobject_class->finalize = gst_fiancee_filter_finalize;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto ready = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_READY);
  const auto playing = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING);

  g_object_class_install_property(gobject_class, PROP_MODEL_LOCATION,
      g_param_spec_string("model-location", "Model location",
                          "Model package: a directory with manifest.json, weights, predictor "
                          "and optional guide database. Loaded when the element starts (READY -> PAUSED).",
                          "", ready));
  g_object_class_install_property(gobject_class, PROP_DATABASE_LOCATION,
      g_param_spec_string("database-location", "Database location",
                          "Guide database to use instead of the one in the model package (empty = the package's).",
                          "", ready));
  g_object_class_install_property(gobject_class, PROP_QUALITY_THRESHOLD,
      g_param_spec_double("quality-threshold", "Quality threshold",
                          "An exit may render a frame when its predicted distance from the backbone output is "
                          "below this; the cheapest such exit is taken. Unit: the model package's quality metric "
                          "(see the `stats` property's metric / metric-unit fields, e.g. 1 - MS-SSIM for the demo "
                          "packages, LPIPS only when the package says so). Lower = closer to the backbone; 0 = "
                          "always the backbone. Unless set, the model package's recommended threshold is used once it is loaded.",
                          0.0, fiancee::defaults::kMaxQualityThreshold, fiancee::defaults::kQualityThreshold, playing));
  g_object_class_install_property(gobject_class, PROP_SCALE_FACTOR,
      g_param_spec_string("scale-factor", "Scale factor",
                          "Branch width scale factor, e.g. \"1/8\"; must be one the model package provides (listed "
                          "in the `stats` property's scale-factors field). Empty = the package's default.",
                          "", playing));
  g_object_class_install_property(gobject_class, PROP_DEVICE,
      g_param_spec_enum("device", "Device", "Where the networks run.", GST_TYPE_FIANCEE_DEVICE,
                        static_cast<gint>(fiancee::Device::Auto), ready));
  g_object_class_install_property(gobject_class, PROP_EXIT,
      g_param_spec_int("exit", "Exit",
                       "Force every frame through this exit (0 = earliest, num-exits - 1 = backbone); -1 = let the "
                       "predictor choose per frame from quality-threshold.",
                       fiancee::defaults::kPredictedRoute, kMaxExit, fiancee::defaults::kPredictedRoute, playing));
  g_object_class_install_property(gobject_class, PROP_EXIT_HYSTERESIS,
      g_param_spec_uint("exit-hysteresis", "Exit hysteresis",
                        "Frames: switch the route down to a cheaper exit only after the predictor has wanted a cheaper "
                        "one on this many frames in a row; switches up to a costlier exit stay immediate, and a held "
                        "exit must still be predicted within quality-threshold (else a costlier one is taken). Stops the "
                        "image from flickering between exits. 0 = off (every frame routed on its own).",
                        0, kMaxExitHysteresis, 0, playing));
  g_object_class_install_property(gobject_class, PROP_TARGET_MISS_RATE,
      g_param_spec_double("target-miss-rate", "Target miss rate",
                          "Share of routed frames allowed to miss quality-threshold (their exit's measured distance from "
                          "the backbone >= the threshold), e.g. 0.05. The predictions get the margin that the model package's "
                          "calibration frames need for this rate (split-conformal; `fiancee calibrate`), so the promise holds "
                          "on new frames like the calibration ones. A package without calibration frames gets a warning and "
                          "routes as without it. 0 = off (predictions compared with the threshold as they are).",
                          0.0, kMaxTargetMissRate, 0.0, playing));
  g_object_class_install_property(gobject_class, PROP_LATENCY_BUDGET,
      g_param_spec_double("latency-budget", "Latency budget",
                          "Milliseconds per frame for this element (front end and network). Each route's time is learned "
                          "while running (90th percentile of recent frames); a frame takes the cheapest route that meets "
                          "quality-threshold and fits the budget, else the best-predicted route that fits (marked "
                          "budget-limited in the frame's meta: a quality miss), else the fastest; a reenactment frame for "
                          "which no network route fits shows the warp alone (exit -1, budget-limited). The element then reports "
                          "this as its latency. 0 = off.",
                          0.0, kMaxLatencyBudgetMs, 0.0, playing));
  g_object_class_install_property(gobject_class, PROP_SUMMARY_INTERVAL,
      g_param_spec_uint("summary-interval", "Summary interval",
                        "Post a \"fiancee-summary\" element message on the bus every this many frames (0 = never).",
                        0, G_MAXUINT, kDefaultSummaryInterval, playing));
  g_object_class_install_property(gobject_class, PROP_QOS_DEGRADE,
      g_param_spec_boolean("qos-degrade", "QoS degrade",
                           "Render frames that QoS events mark as late with the cheapest exit instead of at the "
                           "requested quality (frames are never dropped by this element).",
                           kDefaultQosDegrade, playing));
  g_object_class_install_property(gobject_class, PROP_STATS_LOCATION,
      g_param_spec_string("stats-location", "Stats location",
                          "Write one CSV line per frame to this file (exit, flags, scale factor, GFLOPs, ms, measured "
                          "quality when measure-quality is set, predicted quality per exit). Empty = none.",
                          "", static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(gobject_class, PROP_MEASURE_QUALITY,
      g_param_spec_boolean("measure-quality", "Measure quality",
                           "Also render every frame with the backbone and report the taken exit's measured distance to "
                           "it (meta field measured, stats-location CSV). For evaluation: costs the full backbone per frame.",
                           FALSE, static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_THREADS,
      g_param_spec_uint("threads", "Threads",
                        "LibTorch intra-op threads for this process: 0 = all cores the process may use. Applied when "
                        "the element starts; process-wide, as LibTorch's setting is (the element started last wins).",
                        0, kMaxThreads, kDefaultThreads, ready));
  g_object_class_install_property(gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision",
                        "Number format of the networks: fp32, or bf16 (bfloat16 weights and activations: faster where the "
                        "CPU has AVX-512 BF16 or AMX, at a small quality cost per exit, docs/benchmarks.md). A model with an "
                        "operation that has no bf16 kernel fails to start, naming it. Applied when the element starts.",
                        GST_TYPE_FIANCEE_PRECISION, static_cast<gint>(fiancee::Precision::Fp32), ready));
  g_object_class_install_property(gobject_class, PROP_SHARED_ENGINE,
      g_param_spec_string("shared-engine", "Shared engine",
                          "Name of an engine shared with the other fiancee elements of this process that give the same "
                          "name: one copy of the weights, and their frames run as one batch (each frame keeps its own "
                          "element's route, threshold, QoS and meta). All must give the same model-location, "
                          "database-location and device (else the later one fails to start, naming the first). "
                          "Empty = an engine of this element's own. Applied when the element starts.",
                          "", ready));
  g_object_class_install_property(gobject_class, PROP_BATCH_WINDOW,
      g_param_spec_double("batch-window", "Batch window",
                          "Milliseconds a frame may wait for the other streams of its shared-engine before its batch "
                          "runs without them (a batch runs at once when every stream has a frame waiting). 0 = never "
                          "wait. Unused without shared-engine. Applied when the element starts.",
                          0.0, fiancee::defaults::kMaxBatchWindowMs, fiancee::defaults::kBatchWindowMs, ready));
  g_object_class_install_property(gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Totals since the element started (GstStructure \"fiancee-stats\"): frames, exit-counts, "
                         "late-frames, fallback-frames, passthrough-frames, exit-switches (rendered frames whose exit differs from the "
                         "previous one's), held-frames (kept on a costlier exit by exit-hysteresis), budget-limited-frames (sent by latency-budget to an "
                         "exit not predicted within quality-threshold), over-budget-frames (took longer than latency-budget), batched-frames (ran in one batch with other streams' frames of a shared-engine), mean-gflops, mean-ms, saved-share, and "
                         "the loaded model's num-exits, scale-factors, metric, metric-unit, device.",
                         GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  trans_class->start = GST_DEBUG_FUNCPTR(gst_fiancee_filter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_fiancee_filter_stop);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_fiancee_filter_src_event);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_fiancee_filter_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_fiancee_filter_query);
  trans_class->transform_meta = GST_DEBUG_FUNCPTR(gst_fiancee_filter_transform_meta);
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;

  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_fiancee_filter_set_info);
  filter_class->transform_frame = GST_DEBUG_FUNCPTR(gst_fiancee_filter_transform_frame);

  klass->create_pipeline = nullptr;
}
