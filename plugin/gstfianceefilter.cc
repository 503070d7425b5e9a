// GstFianceeFilter: see gstfianceefilter.h. Everything common to the fiancee
// elements: properties, model loading, frame mapping, metadata, stats, bus
// messages, QoS degradation and latency reporting.
#include "plugin/gstfianceefilter.h"

#include <algorithm>
#include <deque>
#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/frame_report.h"
#include "core/frame_log.h"
#include "core/route_stats.h"
#include "plugin/fianceemeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_fiancee_filter_debug);
#define GST_CAT_DEFAULT gst_fiancee_filter_debug

namespace {

constexpr double kDefaultThreshold = 0.1;
constexpr double kMaxThreshold = 1000.0;
constexpr int kMaxExit = 63;
constexpr guint kDefaultSummaryInterval = 100;
constexpr gboolean kDefaultQosDegrade = TRUE;
constexpr size_t kLatencyWindow = 30;       // frames the latency estimate looks back on
constexpr double kLatencyRepostGrowth = 1.2;  // re-announce latency when it grows by > 20%
constexpr size_t kMaxDistinctWarnings = 32;  // per run; then one "suppressed" warning

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
};

struct Settings {
  std::string model_location;
  std::string database_location;
  double quality_threshold = kDefaultThreshold;
  bool threshold_set = false;  // set by the application; otherwise the package's default applies at start
  std::string scale_factor;  // "" = package default
  fiancee::Device device = fiancee::Device::Auto;
  int exit = -1;
  guint summary_interval = kDefaultSummaryInterval;
  bool qos_degrade = kDefaultQosDegrade;
  std::string stats_location;  // per-frame CSV; "" = none
  bool measure_quality = false;
};

// What the loaded pipeline says about itself; kept after stop for `stats`.
struct ModelInfo {
  bool loaded = false;  // between a successful start and stop: settings are validated against it
  int num_exits = 0;
  std::vector<std::string> scale_factors;
  std::string default_scale_factor;
  std::string metric_name, metric_unit, device_name;
  double backbone_gflops = 0;
  double default_threshold = kDefaultThreshold;
};

struct Impl {
  // Guards settings, info, stats, window, warned.
  std::mutex lock;
  Settings settings;
  ModelInfo info;
  fiancee::RouteStats stats;   // since start
  fiancee::RouteStats window;  // since the last summary message
  std::set<std::string> warned;
  bool warnings_suppressed = false;

  // Streaming thread (and start/stop, which never overlap it).
  std::unique_ptr<fiancee::FramePipeline> pipeline;
  std::unique_ptr<fiancee::FrameLog> frame_log;
  bool have_size = false;
  int width = 0, height = 0;

  // QoS: running time before which buffers are late (GST_CLOCK_TIME_NONE: none).
  std::mutex qos_lock;
  GstClockTime earliest = GST_CLOCK_TIME_NONE;

  // Latency estimate (backbone-equivalent frame times of the last frames).
  std::mutex latency_lock;
  std::deque<double> recent_ms;
  GstClockTime latency = 0;    // current estimate
  GstClockTime announced = 0;  // last value answered in a query or posted
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

std::string gst_fiancee_filter_get_model_location(GstFianceeFilter* filter) {
  Impl& d = impl(filter);
  std::lock_guard<std::mutex> g(d.lock);
  return d.settings.model_location;
}

// ---------------------------------------------------------------- properties

static void gst_fiancee_filter_set_property(GObject* object, guint prop_id, const GValue* value,
                                            GParamSpec* pspec) {
  auto* self = GST_FIANCEE_FILTER(object);
  Impl& d = impl(self);
  std::string warning;
  bool restart_note = false;
  {
    std::lock_guard<std::mutex> g(d.lock);
    Settings& s = d.settings;
    switch (prop_id) {
      case PROP_MODEL_LOCATION:
        s.model_location = value_string(value);
        restart_note = d.info.loaded;
        break;
      case PROP_DATABASE_LOCATION:
        s.database_location = value_string(value);
        restart_note = d.info.loaded;
        break;
      case PROP_DEVICE:
        s.device = static_cast<fiancee::Device>(g_value_get_enum(value));
        restart_note = d.info.loaded;
        break;
      case PROP_QUALITY_THRESHOLD:
        s.quality_threshold = g_value_get_double(value);
        s.threshold_set = true;
        break;
      case PROP_SCALE_FACTOR: {
        std::string sf = value_string(value);
        const auto& valid = d.info.scale_factors;
        if (d.info.loaded && !sf.empty() && std::find(valid.begin(), valid.end(), sf) == valid.end()) {
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
        if (d.info.loaded && e >= d.info.num_exits) {
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
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
  }
  if (restart_note)
    GST_WARNING_OBJECT(self, "%s changed while running: takes effect at the next start (READY -> PAUSED)",
                       pspec->name);
  if (!warning.empty()) GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", warning.c_str()), (NULL));
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
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

// ---------------------------------------------------------------- start/stop

static gboolean gst_fiancee_filter_start(GstBaseTransform* trans) {
  auto* self = GST_FIANCEE_FILTER(trans);
  Impl& d = impl(self);
  Settings s;
  {
    std::lock_guard<std::mutex> g(d.lock);
    s = d.settings;
    d.info.loaded = false;
    d.stats.reset();
    d.window.reset();
    d.warned.clear();
    d.warnings_suppressed = false;
  }
  {
    std::lock_guard<std::mutex> g(d.qos_lock);
    d.earliest = GST_CLOCK_TIME_NONE;
  }
  {
    std::lock_guard<std::mutex> g(d.latency_lock);
    d.recent_ms.clear();
    d.latency = 0;
    d.announced = 0;
  }
  d.have_size = false;
  d.pipeline.reset();

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

  std::unique_ptr<fiancee::FramePipeline> pipeline;
  ModelInfo info;
  try {
    pipeline = klass->create_pipeline(self, load);
    if (!pipeline) throw fiancee::Error("the pipeline factory returned nothing");
    info.num_exits = pipeline->num_exits();
    info.scale_factors = pipeline->scale_factors();
    info.default_scale_factor = pipeline->default_scale_factor();
    info.metric_name = pipeline->metric_name();
    info.metric_unit = pipeline->metric_unit();
    info.device_name = pipeline->device_name();
    info.backbone_gflops = pipeline->backbone_gflops();
    info.default_threshold = pipeline->default_threshold();
  } catch (const GstFianceeNotFoundError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("%s", e.what()), ("model-location=%s", model));
    return FALSE;
  } catch (const fiancee::PackageError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Cannot load model package '%s': %s", model, e.what()),
                      ("model-location=%s database-location=%s", model, s.database_location.c_str()));
    return FALSE;
  } catch (const fiancee::UnavailableError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Cannot run model package '%s' here: %s", model, e.what()),
                      ("device=%s", device_nick(s.device)));
    return FALSE;
  } catch (const fiancee::InputError& e) {  // names the setting / file itself
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", e.what()), ("model-location=%s", model));
    return FALSE;
  } catch (const fiancee::Error& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Cannot start with model package '%s': %s", model, e.what()),
                      (NULL));
    return FALSE;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Failed to load model package '%s': %s", model, e.what()), (NULL));
    return FALSE;
  } catch (...) {
    GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Failed to load model package '%s' (unknown exception).", model),
                      (NULL));
    return FALSE;
  }

  // Settings that depend on the package.
  if (!s.scale_factor.empty() &&
      std::find(info.scale_factors.begin(), info.scale_factors.end(), s.scale_factor) == info.scale_factors.end()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("scale-factor '%s' is not available in model package '%s'; valid scale factors: %s.",
                       s.scale_factor.c_str(), model, join(info.scale_factors).c_str()),
                      (NULL));
    return FALSE;
  }
  if (s.exit >= info.num_exits) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("exit %d does not exist in model package '%s': it has %d exits (0..%d; -1 = predicted "
                       "route).", s.exit, model, info.num_exits, info.num_exits - 1),
                      (NULL));
    return FALSE;
  }

  GST_INFO_OBJECT(self, "loaded '%s': %d exits, scale factors [%s] (default %s), metric %s (%s), device %s, "
                  "backbone %.1f GFLOPs", model, info.num_exits, join(info.scale_factors).c_str(),
                  info.default_scale_factor.c_str(), info.metric_name.c_str(), info.metric_unit.c_str(),
                  info.device_name.c_str(), info.backbone_gflops);
  if (!s.stats_location.empty()) {
    try {
      d.frame_log = std::make_unique<fiancee::FrameLog>(s.stats_location, info.num_exits);
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("%s", e.what()), (NULL));
      return FALSE;
    }
  }
  info.loaded = true;
  {
    std::lock_guard<std::mutex> g(d.lock);
    if (!d.settings.threshold_set) d.settings.quality_threshold = info.default_threshold;
    d.info = std::move(info);
  }
  d.pipeline = std::move(pipeline);
  return TRUE;
}

static gboolean gst_fiancee_filter_stop(GstBaseTransform* trans) {
  auto* self = GST_FIANCEE_FILTER(trans);
  Impl& d = impl(self);
  {
    std::lock_guard<std::mutex> g(d.lock);
    d.info.loaded = false;
  }
  try {
    d.frame_log.reset();
    d.pipeline.reset();
  } catch (...) {
    GST_WARNING_OBJECT(self, "exception while releasing the pipeline");
  }
  d.have_size = false;
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
      ours = d.latency;
      d.announced = std::max(d.announced, ours);
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
  bool post = false, suppressed_now = false;
  {
    std::lock_guard<std::mutex> g(d.lock);
    if (!d.warned.count(warning)) {
      if (d.warned.size() < kMaxDistinctWarnings) {
        d.warned.insert(warning);
        post = true;
      } else if (!d.warnings_suppressed) {
        d.warnings_suppressed = true;
        suppressed_now = true;
      }
    }
  }
  if (post) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED, ("%s", warning.c_str()),
                        ("model-location=%s, first at frame %" G_GUINT64_FORMAT
                         "; each distinct warning is posted once per run", model.c_str(), frame));
  } else if (suppressed_now) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED,
                        ("More than %u distinct warnings from model package '%s'; further ones are only logged.",
                         static_cast<guint>(kMaxDistinctWarnings), model.c_str()),
                        ("latest: %s", warning.c_str()));
  } else {
    GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": %s (already posted)", frame, warning.c_str());
  }
}

static void update_latency(GstFianceeFilter* self, Impl& d, const fiancee::FrameReport& report) {
  if (report.passthrough) return;  // says nothing about the network's time
  double ms = report.total_ms;
  // A cheap exit's time, scaled to what the backbone would have taken (the
  // router may pick the backbone on any frame).
  if (report.gflops > 0 && report.backbone_gflops > report.gflops) ms *= report.backbone_gflops / report.gflops;
  if (!(ms >= 0)) return;
  bool post = false;
  GstClockTime estimate;
  {
    std::lock_guard<std::mutex> g(d.latency_lock);
    d.recent_ms.push_back(ms);
    while (d.recent_ms.size() > kLatencyWindow) d.recent_ms.pop_front();
    const double max_ms = *std::max_element(d.recent_ms.begin(), d.recent_ms.end());
    d.latency = static_cast<GstClockTime>(max_ms * GST_MSECOND);
    estimate = d.latency;
    if (d.latency > 0 && static_cast<double>(d.latency) > kLatencyRepostGrowth * static_cast<double>(d.announced)) {
      d.announced = d.latency;
      post = true;
    }
  }
  if (post) {
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
  bool qos_degrade;
  std::string model;
  guint64 frame_no;
  {
    std::lock_guard<std::mutex> g(d.lock);
    rs.quality_threshold = d.settings.quality_threshold;
    rs.scale_factor = d.settings.scale_factor;
    rs.forced_exit = d.settings.exit;
    rs.measure = d.settings.measure_quality;
    summary_interval = d.settings.summary_interval;
    qos_degrade = d.settings.qos_degrade;
    model = d.settings.model_location;
    frame_no = static_cast<guint64>(d.stats.frames());
  }

  if (qos_degrade) {
    const GstClockTime pts = GST_BUFFER_PTS(in_frame->buffer);
    const GstClockTime running_time =
        gst_segment_to_running_time(&GST_BASE_TRANSFORM(self)->segment, GST_FORMAT_TIME, pts);
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
  try {
    d.pipeline->process(in, out, rs, report);
  } catch (const fiancee::NonFiniteError& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Model package '%s' produced NaN/Inf values: %s", model.c_str(), e.what()),
                      ("frame %" G_GUINT64_FORMAT ", model-location=%s", frame_no, model.c_str()));
    return GST_FLOW_ERROR;
  } catch (const fiancee::InputError& e) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Cannot process frame %" G_GUINT64_FORMAT ": %s", frame_no, e.what()),
                      ("model-location=%s, frame %dx%d", model.c_str(), in.width, in.height));
    return GST_FLOW_ERROR;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED,
                      ("Model package '%s' failed on frame %" G_GUINT64_FORMAT ": %s", model.c_str(), frame_no, e.what()),
                      (NULL));
    return GST_FLOW_ERROR;
  } catch (...) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED,
                      ("Model package '%s' failed on frame %" G_GUINT64_FORMAT " (unknown exception)", model.c_str(),
                       frame_no),
                      (NULL));
    return GST_FLOW_ERROR;
  }

  try {
    fiancee_frame_meta_add(out_frame->buffer, report);
    if (d.frame_log) d.frame_log->write(frame_no, static_cast<int64_t>(GST_BUFFER_PTS(in_frame->buffer)), report);

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
  } catch (const std::exception& e) {  // bad_alloc and the like
    GST_ELEMENT_ERROR(self, CORE, FAILED, ("Failed to record the report of frame %" G_GUINT64_FORMAT ": %s",
                      frame_no, e.what()), (NULL));
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
                          0.0, kMaxThreshold, kDefaultThreshold, playing));
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
                       -1, kMaxExit, -1, playing));
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
  g_object_class_install_property(gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Totals since the element started (GstStructure \"fiancee-stats\"): frames, exit-counts, "
                         "late-frames, fallback-frames, passthrough-frames, mean-gflops, mean-ms, saved-share, and "
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
