// GstHarness tests of the fianceereenact and fianceesynth elements (and their
// GstFianceeFilter base): caps, properties, routing controls, metadata, stats,
// bus messages, QoS degradation, latency, error handling. The plugin is linked
// in and registered statically; the fixture packages are written with the
// pipelines' write_demo_package() (tiny, untrained, CPU).
#include <ATen/Parallel.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/defaults.h"
#include "core/errors.h"
#include "core/frame_report.h"
#include "core/runtime.h"
#include "training/reenact_package.h"
#include "pipelines/reenact.h"
#include "training/synth_package.h"
#include "plugin/gstfianceefilter.h"
#include "tests/fixtures.h"

extern "C" void gst_plugin_fiancee_register(void);

namespace {

struct Fixtures {
  fiancee::testing::TempDir dir;
  std::string package, nan_package;
  std::string scenes;  // a directory of synthesis packages: asap/ and oasis/
};
Fixtures* g_fixtures = nullptr;

class GstEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    gst_init(nullptr, nullptr);
    gst_plugin_fiancee_register();
    g_fixtures = new Fixtures();
    g_fixtures->package = g_fixtures->dir.file("pkg");
    fiancee::write_demo_package(g_fixtures->package);
    fiancee::DemoPackageOptions nan;
    nan.nan_branch = true;
    g_fixtures->nan_package = g_fixtures->dir.file("nan-pkg");
    fiancee::write_demo_package(g_fixtures->nan_package, nan);
    g_fixtures->scenes = g_fixtures->dir.file("scenes");
    fiancee::synth::write_demo_package(g_fixtures->scenes + "/oasis");
    fiancee::synth::DemoPackageOptions asap;
    asap.family = "asap";
    fiancee::synth::write_demo_package(g_fixtures->scenes + "/asap", asap);
  }
  void TearDown() override {
    delete g_fixtures;
    g_fixtures = nullptr;
  }
};
[[maybe_unused]] ::testing::Environment* const g_env = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

const std::string& package() { return g_fixtures->package; }
std::string source_of(const std::string& pkg) { return pkg + "/source.png"; }

// A new fianceereenact, floating reference sunk (the caller owns one reference).
GstElement* new_reenact() {
  GstElement* e = gst_element_factory_make("fianceereenact", nullptr);
  EXPECT_NE(e, nullptr);
  return GST_ELEMENT(gst_object_ref_sink(e));
}

GstElement* make_reenact(const std::string& pkg = package()) {
  GstElement* e = new_reenact();
  // Test frames show no face: render the avatar neutral instead of passing them through.
  g_object_set(e, "model-location", pkg.c_str(), "source-location", source_of(pkg).c_str(), "no-face", 1, NULL);
  return e;
}

struct Message {
  GstMessageType type;
  std::string text;           // error / warning text
  GQuark domain = 0;
  int code = 0;
  GstStructure* structure = nullptr;  // element messages (owned)
};

std::vector<Message> drain(GstBus* bus) {
  std::vector<Message> out;
  while (GstMessage* m = gst_bus_pop(bus)) {
    Message msg;
    msg.type = GST_MESSAGE_TYPE(m);
    if (msg.type == GST_MESSAGE_ERROR || msg.type == GST_MESSAGE_WARNING) {
      GError* err = nullptr;
      gchar* dbg = nullptr;
      if (msg.type == GST_MESSAGE_ERROR)
        gst_message_parse_error(m, &err, &dbg);
      else
        gst_message_parse_warning(m, &err, &dbg);
      msg.text = err->message;
      msg.domain = err->domain;
      msg.code = err->code;
      g_error_free(err);
      g_free(dbg);
    } else if (msg.type == GST_MESSAGE_ELEMENT) {
      msg.structure = gst_structure_copy(gst_message_get_structure(m));
    }
    out.push_back(std::move(msg));
    gst_message_unref(m);
  }
  return out;
}

void free_messages(std::vector<Message>& messages) {
  for (auto& m : messages)
    if (m.structure) gst_structure_free(m.structure);
  messages.clear();
}

std::vector<std::string> texts(const std::vector<Message>& messages, GstMessageType type) {
  std::vector<std::string> out;
  for (const auto& m : messages)
    if (m.type == type) out.push_back(m.text);
  return out;
}

// A started element between a pushing and a pulling harness pad, with a bus.
class Harness {
 public:
  explicit Harness(GstElement* element, int width = 96, int height = 80, GstVideoFormat format = GST_VIDEO_FORMAT_RGB)
      : element_(element), format_(format) {
    bus_ = gst_bus_new();
    gst_element_set_bus(element_, bus_);
    h_ = gst_harness_new_with_element(element_, "sink", "src");
    set_size(width, height);
  }
  ~Harness() {
    gst_harness_teardown(h_);
    gst_bus_set_flushing(bus_, TRUE);  // unposted messages hold the element, which holds the bus
    gst_element_set_bus(element_, nullptr);
    free_messages(messages_);
    gst_object_unref(element_);
    gst_object_unref(bus_);
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  GstHarness* h() { return h_; }
  GstElement* element() { return element_; }

  void set_size(int width, int height) {
    gst_video_info_set_format(&info_, format_, width, height);
    GST_VIDEO_INFO_FPS_N(&info_) = 30;
    GST_VIDEO_INFO_FPS_D(&info_) = 1;
    GstCaps* caps = gst_video_info_to_caps(&info_);
    gst_harness_set_src_caps(h_, caps);
  }

  // Pushes one frame at `pts` (default: the next 30 fps slot); returns the flow.
  GstFlowReturn push(GstClockTime pts = GST_CLOCK_TIME_NONE) {
    if (!GST_CLOCK_TIME_IS_VALID(pts)) pts = frame_ * GST_SECOND / 30;
    GstBuffer* buf = gst_harness_create_buffer(h_, GST_VIDEO_INFO_SIZE(&info_));
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    // GRAY8 frames are label maps: blocks of the 12 street-scene class ids.
    const bool labels = format_ == GST_VIDEO_FORMAT_GRAY8;
    for (gsize i = 0; i < map.size; ++i)
      map.data[i] = static_cast<guint8>(labels ? ((i / 9) * 7 + frame_ * 13) % 12 : (i * 7 + frame_ * 13) & 0xff);
    gst_buffer_unmap(buf, &map);
    GST_BUFFER_PTS(buf) = pts;
    GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
    ++frame_;
    return gst_harness_push(h_, buf);
  }

  // Pushes one frame and returns the output (owned by the caller; nullptr if none).
  GstBuffer* process(GstClockTime pts = GST_CLOCK_TIME_NONE) {
    GstFlowReturn ret = push(pts);
    EXPECT_EQ(ret, GST_FLOW_OK) << gst_flow_get_name(ret);
    if (ret != GST_FLOW_OK) return nullptr;
    return gst_harness_try_pull(h_);
  }

  const std::vector<Message>& messages() {
    auto more = drain(bus_);
    for (auto& m : more) messages_.push_back(std::move(m));
    return messages_;
  }

  gsize frame_size() const { return GST_VIDEO_INFO_SIZE(&info_); }

 private:
  GstElement* element_;
  GstVideoFormat format_;
  GstBus* bus_;
  GstHarness* h_;
  GstVideoInfo info_;
  guint64 frame_ = 0;
  std::vector<Message> messages_;
};

const GstStructure* meta_of(GstBuffer* buf) {
  // The way an application reads it: by name, no fiancee header.
  GstCustomMeta* meta = gst_buffer_get_custom_meta(buf, "FianceeFrameMeta");
  return meta ? gst_custom_meta_get_structure(meta) : nullptr;
}

int meta_int(const GstStructure* s, const char* field) {
  int v = -1000;
  EXPECT_TRUE(gst_structure_get_int(s, field, &v)) << field;
  return v;
}
double meta_double(const GstStructure* s, const char* field) {
  double v = -1;
  EXPECT_TRUE(gst_structure_get_double(s, field, &v)) << field;
  return v;
}
bool meta_bool(const GstStructure* s, const char* field) {
  gboolean v = FALSE;
  EXPECT_TRUE(gst_structure_get_boolean(s, field, &v)) << field;
  return v;
}

// The element's `stats` structure (caller frees).
GstStructure* stats_of(GstElement* e) {
  GstStructure* s = nullptr;
  g_object_get(e, "stats", &s, NULL);
  return s;
}

int num_exits_of(GstElement* e) {
  GstStructure* s = stats_of(e);
  int n = 0;
  gst_structure_get_int(s, "num-exits", &n);
  gst_structure_free(s);
  return n;
}

guint64 stats_uint64(GstElement* e, const char* field) {
  GstStructure* s = stats_of(e);
  guint64 v = 0;
  EXPECT_TRUE(gst_structure_get_uint64(s, field, &v)) << field;
  gst_structure_free(s);
  return v;
}

struct StartResult {
  GstStateChangeReturn ret;
  std::vector<std::string> errors;
  std::vector<Message> messages;
};

// Takes a configured element READY -> PAUSED (where it loads its model).
StartResult try_start(GstElement* e) {
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  StartResult r;
  r.ret = gst_element_set_state(e, GST_STATE_PAUSED);
  r.messages = drain(bus);
  r.errors = texts(r.messages, GST_MESSAGE_ERROR);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_bus_set_flushing(bus, TRUE);
  gst_element_set_bus(e, nullptr);
  gst_object_unref(bus);
  return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ------------------------------------------------------------------ caps

bool accepts(GstPad* pad, const char* caps_str) {
  GstCaps* caps = gst_caps_from_string(caps_str);
  const gboolean ok = gst_pad_query_accept_caps(pad, caps);
  gst_caps_unref(caps);
  return ok;
}

TEST(Element, AcceptsRgbRefusesOtherFormats) {
  GstElement* e = make_reenact();
  GstPad* sink = gst_element_get_static_pad(e, "sink");
  GstPad* src = gst_element_get_static_pad(e, "src");
  EXPECT_TRUE(accepts(sink, "video/x-raw,format=RGB,width=96,height=80,framerate=30/1"));
  EXPECT_TRUE(accepts(sink, "video/x-raw,format=RGB,width=1920,height=1080,framerate=0/1"));
  EXPECT_FALSE(accepts(sink, "video/x-raw,format=GRAY8,width=96,height=80,framerate=30/1"));
  EXPECT_FALSE(accepts(sink, "video/x-raw,format=RGBA,width=96,height=80,framerate=30/1"));
  EXPECT_FALSE(accepts(sink, "video/x-raw,format=I420,width=96,height=80,framerate=30/1"));
  EXPECT_FALSE(accepts(sink, "audio/x-raw,format=S16LE,rate=48000,channels=1"));
  EXPECT_TRUE(accepts(src, "video/x-raw,format=RGB,width=96,height=80,framerate=30/1"));
  EXPECT_FALSE(accepts(src, "video/x-raw,format=BGR,width=96,height=80,framerate=30/1"));
  gst_object_unref(sink);
  gst_object_unref(src);
  gst_object_unref(e);
}

TEST(Element, PushingGray8IsNotNegotiated) {
  Harness t(make_reenact());
  gst_harness_set_src_caps_str(t.h(), "video/x-raw,format=GRAY8,width=96,height=80,framerate=30/1");
  GstBuffer* buf = gst_harness_create_buffer(t.h(), 96 * 80);
  EXPECT_EQ(gst_harness_push(t.h(), buf), GST_FLOW_NOT_NEGOTIATED);
}

TEST(Element, OutputHasInputSizeAndFormat) {
  Harness t(make_reenact(), 90, 70);  // odd row size: RGB stride 272 > 270
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(gst_buffer_get_size(out), t.frame_size());
  GstCaps* caps = gst_pad_get_current_caps(t.h()->sinkpad);
  ASSERT_NE(caps, nullptr);
  GstVideoInfo info;
  ASSERT_TRUE(gst_video_info_from_caps(&info, caps));
  EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&info), GST_VIDEO_FORMAT_RGB);
  EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 90);
  EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), 70);
  gst_caps_unref(caps);
  gst_buffer_unref(out);
}

// ------------------------------------------------------------------ properties

TEST(Element, PropertyDefaultsAndRanges) {
  GstElement* e = new_reenact();
  ASSERT_NE(e, nullptr);
  GObjectClass* klass = G_OBJECT_GET_CLASS(e);

  auto* threshold = G_PARAM_SPEC_DOUBLE(g_object_class_find_property(klass, "quality-threshold"));
  ASSERT_NE(threshold, nullptr);
  EXPECT_DOUBLE_EQ(threshold->minimum, 0.0);
  EXPECT_DOUBLE_EQ(threshold->maximum, 1000.0);
  EXPECT_DOUBLE_EQ(threshold->default_value, 0.1);
  EXPECT_TRUE(G_PARAM_SPEC(threshold)->flags & GST_PARAM_MUTABLE_PLAYING);
  EXPECT_TRUE(contains(g_param_spec_get_blurb(G_PARAM_SPEC(threshold)), "metric"));

  auto* exit = G_PARAM_SPEC_INT(g_object_class_find_property(klass, "exit"));
  ASSERT_NE(exit, nullptr);
  EXPECT_EQ(exit->minimum, -1);
  EXPECT_EQ(exit->maximum, 63);
  EXPECT_EQ(exit->default_value, -1);
  EXPECT_TRUE(G_PARAM_SPEC(exit)->flags & GST_PARAM_MUTABLE_PLAYING);

  auto* interval = G_PARAM_SPEC_UINT(g_object_class_find_property(klass, "summary-interval"));
  ASSERT_NE(interval, nullptr);
  EXPECT_EQ(interval->default_value, 100u);

  GParamSpec* sf = g_object_class_find_property(klass, "scale-factor");
  ASSERT_NE(sf, nullptr);
  EXPECT_TRUE(sf->flags & GST_PARAM_MUTABLE_PLAYING);

  GParamSpec* device = g_object_class_find_property(klass, "device");
  ASSERT_NE(device, nullptr);
  ASSERT_TRUE(G_IS_PARAM_SPEC_ENUM(device));
  GEnumClass* enum_class = G_PARAM_SPEC_ENUM(device)->enum_class;
  EXPECT_NE(g_enum_get_value_by_nick(enum_class, "auto"), nullptr);
  EXPECT_NE(g_enum_get_value_by_nick(enum_class, "cpu"), nullptr);
  EXPECT_NE(g_enum_get_value_by_nick(enum_class, "cuda"), nullptr);
  EXPECT_EQ(G_PARAM_SPEC_ENUM(device)->default_value, g_enum_get_value_by_nick(enum_class, "auto")->value);

  GParamSpec* stats = g_object_class_find_property(klass, "stats");
  ASSERT_NE(stats, nullptr);
  EXPECT_TRUE(stats->flags & G_PARAM_READABLE);
  EXPECT_FALSE(stats->flags & G_PARAM_WRITABLE);

  for (const char* name : {"model-location", "database-location", "source-location", "qos-degrade", "threads"})
    EXPECT_NE(g_object_class_find_property(klass, name), nullptr) << name;

  GParamSpec* transfer = g_object_class_find_property(klass, "expression-transfer");
  ASSERT_NE(transfer, nullptr);
  auto* transfer_class = G_PARAM_SPEC_ENUM(transfer)->enum_class;
  ASSERT_NE(g_enum_get_value_by_nick(transfer_class, "absolute"), nullptr);
  EXPECT_EQ(G_PARAM_SPEC_ENUM(transfer)->default_value, g_enum_get_value_by_nick(transfer_class, "relative")->value);

  gchar *model = nullptr, *db = nullptr, *scale = nullptr, *source = nullptr;
  gdouble q = 0;
  gint ex = 0, dev = -1;
  guint every = 0;
  gboolean degrade = FALSE;
  g_object_get(e, "model-location", &model, "database-location", &db, "scale-factor", &scale, "source-location",
               &source, "quality-threshold", &q, "exit", &ex, "device", &dev, "summary-interval", &every,
               "qos-degrade", &degrade, NULL);
  EXPECT_STREQ(model, "");
  EXPECT_STREQ(db, "");
  EXPECT_STREQ(scale, "");
  EXPECT_STREQ(source, "");
  EXPECT_DOUBLE_EQ(q, 0.1);
  EXPECT_EQ(ex, -1);
  EXPECT_EQ(dev, 0);
  EXPECT_EQ(every, 100u);
  EXPECT_TRUE(degrade);
  g_free(model);
  g_free(db);
  g_free(scale);
  g_free(source);

  // Round trip.
  g_object_set(e, "quality-threshold", 0.25, "exit", 2, "scale-factor", "1/4", NULL);
  g_object_get(e, "quality-threshold", &q, "exit", &ex, "scale-factor", &scale, NULL);
  EXPECT_DOUBLE_EQ(q, 0.25);
  EXPECT_EQ(ex, 2);
  EXPECT_STREQ(scale, "1/4");
  g_free(scale);

  GstElementFactory* factory = gst_element_get_factory(e);
  const gchar* description = gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_DESCRIPTION);
  EXPECT_TRUE(contains(description, "gst-launch-1.0")) << description;
  gst_object_unref(e);
}

TEST(Element, InvalidScaleFactorAtStartNamesTheValidOnes) {
  fiancee::ReenactOptions o;
  o.model_location = package();
  o.source_location = source_of(package());
  const auto valid = fiancee::make_reenact_pipeline(o)->info().scale_factors;
  ASSERT_FALSE(valid.empty());

  GstElement* e = make_reenact();
  g_object_set(e, "scale-factor", "1/7", NULL);
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "1/7")) << r.errors[0];
  for (const auto& sf : valid) EXPECT_TRUE(contains(r.errors[0], sf)) << r.errors[0] << " lacks " << sf;
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Element, ExitBeyondThePackageFailsAtStart) {
  GstElement* e = make_reenact();
  g_object_set(e, "exit", 63, NULL);
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "exit 63")) << r.errors[0];
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Element, SettingsChangeWhilePlaying) {
  Harness t(make_reenact());
  GstStructure* stats = stats_of(t.element());
  const GValue* sfs = gst_structure_get_value(stats, "scale-factors");
  ASSERT_NE(sfs, nullptr);
  ASSERT_GT(gst_value_array_get_size(sfs), 0u);
  std::vector<std::string> valid;
  for (guint i = 0; i < gst_value_array_get_size(sfs); ++i)
    valid.push_back(g_value_get_string(gst_value_array_get_value(sfs, i)));
  gst_structure_free(stats);

  // An unknown scale factor while playing: warning naming the valid ones, old value kept.
  g_object_set(t.element(), "scale-factor", "1/7", NULL);
  auto warnings = texts(t.messages(), GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u);
  for (const auto& sf : valid) EXPECT_TRUE(contains(warnings[0], sf)) << warnings[0];
  gchar* current = nullptr;
  g_object_get(t.element(), "scale-factor", &current, NULL);
  EXPECT_STREQ(current, "");
  g_free(current);

  // A valid one takes effect on the next frame.
  const std::string last = valid.back();
  g_object_set(t.element(), "scale-factor", last.c_str(), NULL);
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  const GstStructure* meta = meta_of(out);
  ASSERT_NE(meta, nullptr);
  EXPECT_STREQ(gst_structure_get_string(meta, "scale-factor"), last.c_str());
  gst_buffer_unref(out);

  // An exit the package lacks while playing: warning, value kept.
  g_object_set(t.element(), "exit", 63, NULL);
  gint exit = 0;
  g_object_get(t.element(), "exit", &exit, NULL);
  EXPECT_EQ(exit, -1);
  EXPECT_EQ(texts(t.messages(), GST_MESSAGE_WARNING).size(), 2u);
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty());
}

// ------------------------------------------------------------------ routing

TEST(Element, ForcedExitsTakeDifferentRoutes) {
  Harness t(make_reenact());
  const int n = num_exits_of(t.element());
  ASSERT_GE(n, 2);

  g_object_set(t.element(), "exit", 0, NULL);
  GstBuffer* first = t.process();
  g_object_set(t.element(), "exit", n - 1, NULL);
  GstBuffer* last = t.process();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(last, nullptr);
  const GstStructure* m0 = meta_of(first);
  const GstStructure* m1 = meta_of(last);
  ASSERT_NE(m0, nullptr);
  ASSERT_NE(m1, nullptr);
  EXPECT_EQ(meta_int(m0, "exit"), 0);
  EXPECT_EQ(meta_int(m1, "exit"), n - 1);
  EXPECT_TRUE(meta_bool(m0, "forced"));
  EXPECT_TRUE(meta_bool(m1, "forced"));
  EXPECT_LT(meta_double(m0, "gflops"), meta_double(m1, "gflops"));
  EXPECT_DOUBLE_EQ(meta_double(m1, "gflops"), meta_double(m1, "backbone-gflops"));
  gst_buffer_unref(first);
  gst_buffer_unref(last);
}

TEST(Element, RefineFalseRendersTheWarpWithoutTheNetwork) {
  GstElement* e = make_reenact();
  gboolean refine = FALSE;
  g_object_get(e, "refine", &refine, NULL);
  EXPECT_TRUE(refine);  // the default
  g_object_set(e, "refine", FALSE, NULL);
  Harness t(e);
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  const GstStructure* m = meta_of(out);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(meta_int(m, "exit"), -1);
  EXPECT_FALSE(meta_bool(m, "passthrough"));
  EXPECT_DOUBLE_EQ(meta_double(m, "gflops"), 0.0);
  gst_buffer_unref(out);
}

TEST(Element, ThresholdZeroAlwaysTakesTheBackbone) {
  GstElement* e = make_reenact();
  g_object_set(e, "quality-threshold", 0.0, NULL);
  Harness t(e);
  const int n = num_exits_of(t.element());
  for (int i = 0; i < 5; ++i) {
    GstBuffer* out = t.process();
    ASSERT_NE(out, nullptr);
    const GstStructure* m = meta_of(out);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(meta_int(m, "exit"), n - 1) << "frame " << i;
    EXPECT_FALSE(meta_bool(m, "forced"));
    gst_buffer_unref(out);
  }
}

TEST(Element, MetadataOnEveryBuffer) {
  Harness t(make_reenact());
  const int n = num_exits_of(t.element());
  for (int i = 0; i < 8; ++i) {
    GstBuffer* out = t.process();
    ASSERT_NE(out, nullptr);
    const GstStructure* m = meta_of(out);
    ASSERT_NE(m, nullptr) << "frame " << i;
    const int exit = meta_int(m, "exit");
    EXPECT_GE(exit, 0);
    EXPECT_LT(exit, n);
    EXPECT_EQ(meta_int(m, "num-exits"), n);
    const GValue* predicted = gst_structure_get_value(m, "predicted");
    ASSERT_NE(predicted, nullptr);
    ASSERT_TRUE(GST_VALUE_HOLDS_ARRAY(predicted));
    EXPECT_EQ(gst_value_array_get_size(predicted), static_cast<guint>(n));
    for (guint k = 0; k < gst_value_array_get_size(predicted); ++k)
      EXPECT_TRUE(G_VALUE_HOLDS_DOUBLE(gst_value_array_get_value(predicted, k)));
    EXPECT_GT(meta_double(m, "gflops"), 0.0);
    EXPECT_GE(meta_double(m, "backbone-gflops"), meta_double(m, "gflops"));
    EXPECT_GE(meta_double(m, "ms"), 0.0);
    const GValue* stages = gst_structure_get_value(m, "stage-ms");
    ASSERT_NE(stages, nullptr);
    EXPECT_TRUE(GST_VALUE_HOLDS_STRUCTURE(stages));
    EXPECT_NE(gst_structure_get_string(m, "scale-factor"), nullptr);
    for (const char* flag : {"forced", "late", "fell-back", "passthrough"}) meta_bool(m, flag);
    gst_buffer_unref(out);
  }
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty());
}

// Frames without a face the detector could find (none in the test pattern;
// frames too small, wide or tall for it) are copied with exit -1 in the meta:
// not rendered by the model (docs/element.md). Never an error.
TEST(Element, PassthroughFramesOfAnySizeCarryExitMinusOne) {
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{96, 80}, {1, 1000}, {1000, 1}, {4, 4096}, {4096, 4}, {1, 1}}) {
    GstElement* e = make_reenact();
    g_object_set(e, "no-face", 0, NULL);  // passthrough
    Harness t(e, w, h);
    GstBuffer* out = t.process();
    ASSERT_NE(out, nullptr) << w << "x" << h;
    const GstStructure* m = meta_of(out);
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(meta_bool(m, "passthrough")) << w << "x" << h;
    EXPECT_EQ(meta_int(m, "exit"), -1) << w << "x" << h;
    EXPECT_EQ(meta_int(m, "num-exits"), num_exits_of(t.element()));
    EXPECT_EQ(meta_double(m, "gflops"), 0.0);
    // The pixels of Harness::push's first frame, row by row (RGB rows are padded to 4 bytes).
    const int stride = GST_ROUND_UP_4(3 * w);
    GstMapInfo map;
    ASSERT_TRUE(gst_buffer_map(out, &map, GST_MAP_READ));
    int differing = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < 3 * w; ++x) differing += map.data[y * stride + x] != static_cast<guint8>(((y * stride + x) * 7) & 0xff);
    gst_buffer_unmap(out, &map);
    EXPECT_EQ(differing, 0) << w << "x" << h;
    gst_buffer_unref(out);
    EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty()) << w << "x" << h;
    EXPECT_EQ(stats_uint64(t.element(), "passthrough-frames"), 1u);
  }
}

TEST(Element, StatsCountFrames) {
  Harness t(make_reenact());
  EXPECT_EQ(stats_uint64(t.element(), "frames"), 0u);
  for (int i = 0; i < 7; ++i) gst_buffer_unref(t.process());
  GstStructure* s = stats_of(t.element());
  guint64 frames = 0;
  ASSERT_TRUE(gst_structure_get_uint64(s, "frames", &frames));
  EXPECT_EQ(frames, 7u);
  const GValue* counts = gst_structure_get_value(s, "exit-counts");
  ASSERT_NE(counts, nullptr);
  guint64 sum = 0;
  for (guint k = 0; k < gst_value_array_get_size(counts); ++k)
    sum += g_value_get_uint64(gst_value_array_get_value(counts, k));
  EXPECT_EQ(sum, 7u);
  double mean_gflops = 0, saved = -1;
  EXPECT_TRUE(gst_structure_get_double(s, "mean-gflops", &mean_gflops));
  EXPECT_GT(mean_gflops, 0.0);
  EXPECT_TRUE(gst_structure_get_double(s, "saved-share", &saved));
  EXPECT_GE(saved, 0.0);
  EXPECT_LT(saved, 1.0);
  for (const char* f : {"late-frames", "fallback-frames", "passthrough-frames"}) {
    guint64 v = 99;
    EXPECT_TRUE(gst_structure_get_uint64(s, f, &v)) << f;
  }
  EXPECT_NE(gst_structure_get_string(s, "metric"), nullptr);
  EXPECT_NE(gst_structure_get_string(s, "device"), nullptr);
  gst_structure_free(s);
}

// ------------------------------------------------------------------ bus messages

TEST(Element, SummaryEveryNFrames) {
  GstElement* e = make_reenact();
  g_object_set(e, "summary-interval", 3u, NULL);
  Harness t(e);
  for (int i = 0; i < 7; ++i) gst_buffer_unref(t.process());
  std::vector<const GstStructure*> summaries;
  for (const auto& m : t.messages())
    if (m.type == GST_MESSAGE_ELEMENT && gst_structure_has_name(m.structure, "fiancee-summary"))
      summaries.push_back(m.structure);
  ASSERT_EQ(summaries.size(), 2u);
  guint64 frames = 0, window = 0;
  ASSERT_TRUE(gst_structure_get_uint64(summaries[0], "frames", &frames));
  ASSERT_TRUE(gst_structure_get_uint64(summaries[0], "frames-in-window", &window));
  EXPECT_EQ(frames, 3u);
  EXPECT_EQ(window, 3u);
  ASSERT_TRUE(gst_structure_get_uint64(summaries[1], "frames", &frames));
  EXPECT_EQ(frames, 6u);
  EXPECT_TRUE(gst_structure_has_field(summaries[1], "exit-counts"));
  EXPECT_TRUE(gst_structure_has_field(summaries[1], "mean-gflops"));
  EXPECT_TRUE(gst_structure_has_field(summaries[1], "saved-share"));
}

TEST(Element, SummaryOffWithZeroInterval) {
  GstElement* e = make_reenact();
  g_object_set(e, "summary-interval", 0u, NULL);
  Harness t(e);
  for (int i = 0; i < 4; ++i) gst_buffer_unref(t.process());
  for (const auto& m : t.messages()) EXPECT_NE(m.type, GST_MESSAGE_ELEMENT);
}

TEST(Element, MissingModelIsAnErrorNamingIt) {
  GstElement* e = new_reenact();
  const std::string missing = g_fixtures->dir.file("no-such-package");
  g_object_set(e, "model-location", missing.c_str(), "source-location", source_of(package()).c_str(), NULL);
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], missing)) << r.errors[0];
  for (const auto& m : r.messages)
    if (m.type == GST_MESSAGE_ERROR) {
      EXPECT_EQ(m.domain, GST_RESOURCE_ERROR);
      EXPECT_EQ(m.code, GST_RESOURCE_ERROR_NOT_FOUND);
    }
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Element, PhotoWithoutAFaceIsAResourceErrorNamingIt) {
  GstElement* e = new_reenact();
  const std::string photo = g_fixtures->dir.file("noise.png");
  cv::Mat noise(240, 320, CV_8UC3);
  cv::randu(noise, 0, 255);
  ASSERT_TRUE(cv::imwrite(photo, noise));
  g_object_set(e, "model-location", package().c_str(), "source-location", photo.c_str(), NULL);
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], photo) && contains(r.errors[0], "no face found")) << r.errors[0];
  for (const auto& m : r.messages)
    if (m.type == GST_MESSAGE_ERROR) EXPECT_EQ(m.domain, GST_RESOURCE_ERROR);
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Element, NoModelLocationIsAnError) {
  GstElement* e = new_reenact();
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "model-location")) << r.errors[0];
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Element, MissingSourceImageIsAnErrorNamingIt) {
  GstElement* e = make_reenact();
  const std::string missing = g_fixtures->dir.file("nobody.png");
  g_object_set(e, "source-location", missing.c_str(), NULL);
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], missing)) << r.errors[0];
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Element, NoSourceImageIsAnError) {
  GstElement* e = make_reenact();
  g_object_set(e, "source-location", "", NULL);
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "source-location")) << r.errors[0];
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Element, BrokenPackageIsAnErrorNamingIt) {
  const std::string broken = g_fixtures->dir.file("broken");
  g_mkdir_with_parents(broken.c_str(), 0755);
  ASSERT_TRUE(g_file_set_contents((broken + "/manifest.json").c_str(), "{ not json", -1, nullptr));
  GstElement* e = new_reenact();
  g_object_set(e, "model-location", broken.c_str(), "source-location", source_of(package()).c_str(), NULL);
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], broken)) << r.errors[0];
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Element, NanBranchFallsBackWithOneWarning) {
  GstElement* e = make_reenact(g_fixtures->nan_package);
  g_object_set(e, "exit", 0, NULL);
  Harness t(e);
  const int n = num_exits_of(t.element());
  for (int i = 0; i < 4; ++i) {
    GstBuffer* out = t.process();
    ASSERT_NE(out, nullptr);
    const GstStructure* m = meta_of(out);
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(meta_bool(m, "fell-back")) << "frame " << i;
    EXPECT_EQ(meta_int(m, "exit"), n - 1) << "frame " << i;
    gst_buffer_unref(out);
  }
  auto warnings = texts(t.messages(), GST_MESSAGE_WARNING);
  EXPECT_EQ(warnings.size(), 1u);  // once per distinct message, not per frame
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty());
  EXPECT_EQ(stats_uint64(t.element(), "fallback-frames"), 4u);
}

TEST(Element, ResolutionChangeMidStreamWarnsAndGoesOn) {
  Harness t(make_reenact(), 96, 80);
  gst_buffer_unref(t.process());
  t.set_size(64, 48);
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(gst_buffer_get_size(out), t.frame_size());
  gst_buffer_unref(out);
  auto warnings = texts(t.messages(), GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], "from 96x80 to 64x48")) << warnings[0];
}

// ------------------------------------------------------------------ QoS, latency

TEST(Element, QosLateFramesTakeTheCheapestExit) {
  GstElement* e = make_reenact();
  g_object_set(e, "quality-threshold", 0.0, NULL);  // otherwise the backbone
  Harness t(e);
  // The sink reports being 100 ms late at running time 1 s: frames up to 1.2 s are late.
  ASSERT_TRUE(gst_harness_push_upstream_event(
      t.h(), gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.9, 100 * GST_MSECOND, GST_SECOND)));
  GstBuffer* late = t.process(1100 * GST_MSECOND);
  GstBuffer* on_time = t.process(1300 * GST_MSECOND);
  ASSERT_NE(late, nullptr);
  ASSERT_NE(on_time, nullptr);
  const int n = num_exits_of(t.element());
  EXPECT_TRUE(meta_bool(meta_of(late), "late"));
  EXPECT_EQ(meta_int(meta_of(late), "exit"), 0);
  EXPECT_FALSE(meta_bool(meta_of(on_time), "late"));
  EXPECT_EQ(meta_int(meta_of(on_time), "exit"), n - 1);
  EXPECT_EQ(stats_uint64(t.element(), "late-frames"), 1u);
  gst_buffer_unref(late);
  gst_buffer_unref(on_time);
}

TEST(Element, QosDegradeOffKeepsQuality) {
  GstElement* e = make_reenact();
  g_object_set(e, "quality-threshold", 0.0, "qos-degrade", FALSE, NULL);
  Harness t(e);
  ASSERT_TRUE(gst_harness_push_upstream_event(
      t.h(), gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.9, 100 * GST_MSECOND, GST_SECOND)));
  GstBuffer* out = t.process(1100 * GST_MSECOND);
  ASSERT_NE(out, nullptr);  // never dropped either
  EXPECT_FALSE(meta_bool(meta_of(out), "late"));
  EXPECT_EQ(meta_int(meta_of(out), "exit"), num_exits_of(t.element()) - 1);
  gst_buffer_unref(out);
}

TEST(Element, LatencyGrowsWithProcessingTime) {
  Harness t(make_reenact());
  gst_harness_set_upstream_latency(t.h(), 5 * GST_MSECOND);
  EXPECT_EQ(gst_harness_query_latency(t.h()), 5 * GST_MSECOND);  // nothing processed yet
  for (int i = 0; i < 3; ++i) gst_buffer_unref(t.process());
  EXPECT_GT(gst_harness_query_latency(t.h()), 5 * GST_MSECOND);
  int latency_messages = 0;
  for (const auto& m : t.messages()) latency_messages += m.type == GST_MESSAGE_LATENCY;
  EXPECT_GE(latency_messages, 1);
}

// ------------------------------------------------------------------ the base class alone
// A GstFianceeFilter subclass over a scripted FramePipeline: exercises the
// element boundary (exceptions, warnings, latency) without a real model.

struct FakeScript {
  bool throw_at_load = false;
  bool throw_nonfinite = false;  // process() throws NonFiniteError
  bool throw_unknown = false;    // process() throws an int
  std::string warning;           // report.warning
  bool vary_warning = false;     // append the frame number to the warning
  double ms = 1.0;               // report.total_ms
  bool passthrough = false;
  int threads_seen = 0;          // at::get_num_threads() inside the last process()
  std::vector<int> wanted;       // the router's exit per frame (cycled); empty = the backbone
  double sleep_ms = 0;           // process() takes at least this long
  bool calibrated = false;       // scale factor 1/2 has calibration frames
  bool without_network = false;  // the pipeline honours RouteSettings::no_network
  fiancee::RouteSettings seen;   // the settings of the last process()
};
FakeScript g_script;

class FakePipeline : public fiancee::FramePipeline {
 public:
  FakePipeline() {
    info_.num_exits = 3;
    info_.scale_factors = {"1/2", "1/4"};
    info_.default_scale_factor = "1/2";
    info_.metric_name = "fake";
    info_.metric_unit = "fake units";
    info_.default_threshold = fiancee::defaults::kQualityThreshold;
    info_.device_name = "cpu";
    info_.backbone_gflops = 4.0;
    info_.route_gflops = {{"1/2", {1.0, 2.0, 4.0}}, {"1/4", {1.0, 2.0, 4.0}}};
    if (g_script.calibrated) info_.calibrated_scale_factors = {"1/2"};
    info_.renders_without_network = g_script.without_network;
  }

  void process(const fiancee::ImageView& in, const fiancee::ImageView& out, const fiancee::RouteSettings& settings,
               fiancee::FrameReport& report) override {
    if (g_script.throw_nonfinite) throw fiancee::NonFiniteError("backbone output of frame has NaN");
    if (g_script.throw_unknown) throw 42;
    g_script.threads_seen = at::get_num_threads();
    g_script.seen = settings;
    if (g_script.sleep_ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(g_script.sleep_ms));
    for (int y = 0; y < in.height; ++y)
      std::copy(in.data + y * in.stride, in.data + y * in.stride + in.width * in.channels, out.data + y * out.stride);
    static const double gflops[3] = {1.0, 2.0, 4.0};
    report.num_exits = 3;
    report.wanted_exit = g_script.wanted.empty() ? 2 : g_script.wanted[size_t(frames_) % g_script.wanted.size()];
    report.exit = settings.forced_exit >= 0 ? settings.forced_exit : settings.late ? 0 : report.wanted_exit;
    if (settings.forced_exit < 0 && !settings.late && settings.min_exit > report.exit) {  // the engine's rule
      report.exit = settings.min_exit;
      report.held = true;
    }
    report.forced = settings.forced_exit >= 0;
    report.late = settings.late && !report.forced;
    report.predicted = {0.3, 0.2, 0.0};
    report.gflops = gflops[report.exit];
    report.backbone_gflops = 4.0;
    report.total_ms = g_script.ms;
    report.stage_ms = {{"front", g_script.ms / 2}, {"branch 0/exit", g_script.ms / 2}};
    report.scale_factor = settings.scale_factor.empty() ? "1/2" : settings.scale_factor;
    if (settings.no_network) {  // as the reenactment's warp alone: no exit, no GFLOPs
      report.exit = report.wanted_exit = -1;
      report.gflops = report.total_ms = 0;
      report.predicted.clear();
      report.stage_ms.clear();
    }
    report.passthrough = g_script.passthrough;
    report.warning = g_script.warning;
    if (g_script.vary_warning && !report.warning.empty()) report.warning += " #" + std::to_string(frames_);
    ++frames_;
  }
  const fiancee::PipelineInfo& info() const override { return info_; }

 private:
  fiancee::PipelineInfo info_;
  int frames_ = 0;
};

struct FakeFilter {
  GstFianceeFilter parent;
};
struct FakeFilterClass {
  GstFianceeFilterClass parent_class;
};

G_DEFINE_TYPE(FakeFilter, fake_filter, GST_TYPE_FIANCEE_FILTER)

GstStaticPadTemplate fake_sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("RGB")));
GstStaticPadTemplate fake_src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("RGB")));

std::unique_ptr<fiancee::FramePipeline> fake_create_pipeline(GstFianceeFilter*, const GstFianceeLoadSettings&) {
  if (g_script.throw_at_load) throw std::runtime_error("scripted load failure");
  return std::make_unique<FakePipeline>();
}

void fake_filter_init(FakeFilter*) {}

void fake_filter_class_init(FakeFilterClass* klass) {
  auto* element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_set_static_metadata(element_class, "fake fiancee filter", "Filter/Effect/Video",
                                        "GstFianceeFilter over a scripted pipeline (tests only)", "tests");
  gst_element_class_add_static_pad_template(element_class, &fake_sink_template);
  gst_element_class_add_static_pad_template(element_class, &fake_src_template);
  GST_FIANCEE_FILTER_CLASS(klass)->create_pipeline = fake_create_pipeline;
}

GstElement* make_fake() {
  static bool registered = gst_element_register(nullptr, "fianceetestfilter", GST_RANK_NONE, fake_filter_get_type());
  EXPECT_TRUE(registered);
  g_script = FakeScript();
  GstElement* e = gst_element_factory_make("fianceetestfilter", nullptr);
  EXPECT_NE(e, nullptr);
  gst_object_ref_sink(e);
  // The base checks that the package exists before create_pipeline().
  g_object_set(e, "model-location", package().c_str(), NULL);
  return e;
}

TEST(FilterBase, NonFiniteBackboneIsAnErrorNamingTheModel) {
  Harness t(make_fake());
  gst_buffer_unref(t.process());
  g_script.throw_nonfinite = true;
  EXPECT_EQ(t.push(), GST_FLOW_ERROR);
  auto errors = texts(t.messages(), GST_MESSAGE_ERROR);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(contains(errors[0], package())) << errors[0];
  EXPECT_TRUE(contains(errors[0], "NaN")) << errors[0];
}

TEST(FilterBase, UnknownExceptionIsAnErrorNotACrash) {
  Harness t(make_fake());
  g_script.throw_unknown = true;
  EXPECT_EQ(t.push(), GST_FLOW_ERROR);
  EXPECT_EQ(texts(t.messages(), GST_MESSAGE_ERROR).size(), 1u);
}

TEST(FilterBase, LoadExceptionFailsStartWithAnError) {
  GstElement* e = make_fake();
  g_script.throw_at_load = true;
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "scripted load failure")) << r.errors[0];
  EXPECT_TRUE(contains(r.errors[0], package())) << r.errors[0];
  free_messages(r.messages);
  gst_object_unref(e);
}

// The domain and code fiancee::describe_error picks reach the bus (one call site per phase).
TEST(FilterBase, ErrorsCarryTheirDomainAndCode) {
  auto expect_error = [](const std::vector<Message>& messages, GQuark domain, int code, const std::string& text) {
    int errors = 0;
    for (const auto& m : messages) {
      if (m.type != GST_MESSAGE_ERROR) continue;
      ++errors;
      EXPECT_EQ(m.domain, domain) << m.text;
      EXPECT_EQ(m.code, code) << m.text;
      EXPECT_TRUE(contains(m.text, text)) << m.text;
    }
    EXPECT_EQ(errors, 1);
  };

  GstElement* e = make_fake();
  g_script.throw_at_load = true;
  StartResult r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  expect_error(r.messages, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED, "scripted load failure");
  free_messages(r.messages);
  gst_object_unref(e);

  e = make_fake();
  const std::string unwritable = g_fixtures->dir.file("no-such-dir") + "/stats.csv";
  g_object_set(e, "stats-location", unwritable.c_str(), NULL);
  r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  expect_error(r.messages, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE, unwritable);
  free_messages(r.messages);
  gst_object_unref(e);

  Harness t(make_fake());
  g_script.throw_nonfinite = true;
  EXPECT_EQ(t.push(), GST_FLOW_ERROR);
  expect_error(t.messages(), GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "NaN");
}

TEST(FilterBase, ThreadsSetsLibTorchThreadsAtStart) {
  GstElement* e = make_fake();
  auto* threads = G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(e), "threads"));
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->minimum, 0u);
  EXPECT_EQ(threads->maximum, 1024u);
  EXPECT_EQ(threads->default_value, 0u);
  EXPECT_TRUE(G_PARAM_SPEC(threads)->flags & GST_PARAM_MUTABLE_READY);
  guint value = 99;
  g_object_get(e, "threads", &value, NULL);
  EXPECT_EQ(value, 0u);

  g_object_set(e, "threads", 1u, NULL);
  StartResult r = try_start(e);
  EXPECT_NE(r.ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(at::get_num_threads(), 1);
  free_messages(r.messages);

  // 0 (the default) = every core the process may use; also leaves later tests at the default.
  g_object_set(e, "threads", 0u, NULL);
  r = try_start(e);
  EXPECT_NE(r.ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(at::get_num_threads(), fiancee::runtime::available_cores());
  free_messages(r.messages);
  gst_object_unref(e);
}

// OpenMP keeps the thread count per thread: a streaming thread that ran
// LibTorch before the element started must still run with the element's count.
TEST(FilterBase, ThreadsApplyOnTheStreamingThread) {
  GstElement* e = make_fake();
  g_object_set(e, "threads", 1u, NULL);
  Harness t(e);
  GstFlowReturn ret = GST_FLOW_ERROR;
  std::thread streaming([&] {
    at::set_num_threads(2);  // this thread's stale count
    ret = t.push();
  });
  streaming.join();
  EXPECT_EQ(ret, GST_FLOW_OK);
  EXPECT_EQ(g_script.threads_seen, 1);
  fiancee::runtime::set_threads(0);  // later tests at the default
}

TEST(FilterBase, RepeatedWarningIsPostedOnce) {
  Harness t(make_fake());
  g_script.warning = "predictor returned NaN/Inf; frame sent to the backbone";
  for (int i = 0; i < 10; ++i) gst_buffer_unref(t.process());
  auto warnings = texts(t.messages(), GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], g_script.warning);
}

TEST(FilterBase, DistinctWarningsAreCapped) {
  Harness t(make_fake());
  g_script.warning = "frame-specific trouble";
  g_script.vary_warning = true;
  for (int i = 0; i < 50; ++i) gst_buffer_unref(t.process());
  auto warnings = texts(t.messages(), GST_MESSAGE_WARNING);
  EXPECT_EQ(warnings.size(), 33u);  // 32 distinct ones, then one "further ones are only logged"
  EXPECT_TRUE(contains(warnings.back(), "only logged")) << warnings.back();
}

TEST(FilterBase, LatencyEstimateAndRequery) {
  Harness t(make_fake());
  auto latency_messages = [&] {
    int n = 0;
    for (const auto& m : t.messages()) n += m.type == GST_MESSAGE_LATENCY;
    return n;
  };
  EXPECT_EQ(gst_harness_query_latency(t.h()), 0u);

  g_script.ms = 10;  // backbone frames (threshold default, fake picks the backbone)
  gst_buffer_unref(t.process());
  EXPECT_EQ(gst_harness_query_latency(t.h()), 10 * GST_MSECOND);
  EXPECT_EQ(latency_messages(), 1);

  g_script.ms = 11;  // +10%: no new message, estimate follows
  gst_buffer_unref(t.process());
  EXPECT_EQ(gst_harness_query_latency(t.h()), 11 * GST_MSECOND);
  EXPECT_EQ(latency_messages(), 1);

  // A cheap exit (1 of 4 GFLOPs) taking 5 ms stands for a 20 ms backbone frame: +82%, re-announced.
  g_object_set(t.element(), "exit", 0, NULL);
  g_script.ms = 5;
  gst_buffer_unref(t.process());
  EXPECT_EQ(gst_harness_query_latency(t.h()), 20 * GST_MSECOND);
  EXPECT_EQ(latency_messages(), 2);

  // Pass-through frames say nothing about the network.
  g_script.passthrough = true;
  g_script.ms = 100;
  gst_buffer_unref(t.process());
  EXPECT_EQ(gst_harness_query_latency(t.h()), 20 * GST_MSECOND);
  EXPECT_EQ(stats_uint64(t.element(), "passthrough-frames"), 1u);
}

TEST(FilterBase, StageNamesAreSanitised) {
  Harness t(make_fake());
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  const GstStructure* m = meta_of(out);
  ASSERT_NE(m, nullptr);
  const GstStructure* stages = gst_value_get_structure(gst_structure_get_value(m, "stage-ms"));
  ASSERT_NE(stages, nullptr);
  EXPECT_TRUE(gst_structure_has_field(stages, "front"));
  EXPECT_TRUE(gst_structure_has_field(stages, "branch-0-exit"));
  gchar* text = gst_structure_to_string(m);  // serialisable, e.g. for logs
  EXPECT_TRUE(contains(text, "FianceeFrameMeta")) << text;
  g_free(text);
  gst_buffer_unref(out);
}

TEST(FilterBase, FlushResetsQos) {
  Harness t(make_fake());
  ASSERT_TRUE(gst_harness_push_upstream_event(
      t.h(), gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.9, 100 * GST_MSECOND, GST_SECOND)));
  ASSERT_TRUE(gst_harness_push_event(t.h(), gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(t.h(), gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(t.h(), gst_event_new_segment(&segment)));
  GstBuffer* out = t.process(GST_SECOND);
  ASSERT_NE(out, nullptr);
  EXPECT_FALSE(meta_bool(meta_of(out), "late"));
  gst_buffer_unref(out);
}

TEST(FilterBase, ExitHysteresisSetWhilePlayingCutsSwitches) {
  Harness t(make_fake());
  auto* spec = G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(t.element()), "exit-hysteresis"));
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->default_value, 0u);
  EXPECT_TRUE(G_PARAM_SPEC(spec)->flags & GST_PARAM_MUTABLE_PLAYING);
  g_script.wanted = {0, 0, 1};  // a predictor wobbling around the threshold
  auto run = [&](int frames) {
    std::vector<int> exits;
    for (int i = 0; i < frames; ++i) {
      GstBuffer* out = t.process();
      EXPECT_NE(out, nullptr);
      if (!out) break;
      exits.push_back(meta_int(meta_of(out), "exit"));
      gst_buffer_unref(out);
    }
    return exits;
  };
  auto switches = [&] { return stats_uint64(t.element(), "exit-switches"); };
  EXPECT_EQ(run(9), (std::vector<int>{0, 0, 1, 0, 0, 1, 0, 0, 1}));  // off: every wobble switches
  EXPECT_EQ(switches(), 5u);
  g_object_set(t.element(), "exit-hysteresis", 3u, NULL);  // while PLAYING
  EXPECT_EQ(run(9), (std::vector<int>{0, 0, 1, 1, 1, 1, 1, 1, 1}));  // up at once, never 3 calm frames to go down
  EXPECT_EQ(switches(), 7u);  // 1 -> 0 across the change, then 0 -> 1 once
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(meta_bool(meta_of(out), "held"));
  EXPECT_EQ(meta_int(meta_of(out), "wanted-exit"), 0);
  gst_buffer_unref(out);
  g_object_set(t.element(), "exit-hysteresis", 0u, NULL);
  EXPECT_EQ(run(3), (std::vector<int>{0, 1, 0}));
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty());
}

TEST(FilterBase, LatencyBudgetSetWhilePlayingRoutesOnLearnedTimesAndCountsOverruns) {
  Harness t(make_fake());
  auto* spec = G_PARAM_SPEC_DOUBLE(g_object_class_find_property(G_OBJECT_GET_CLASS(t.element()), "latency-budget"));
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->default_value, 0.0);
  EXPECT_TRUE(G_PARAM_SPEC(spec)->flags & GST_PARAM_MUTABLE_PLAYING);
  g_script.sleep_ms = 3;
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  EXPECT_GE(meta_double(meta_of(out), "frame-ms"), 3.0) << "the element's whole time for the frame";
  EXPECT_FALSE(meta_bool(meta_of(out), "over-budget"));
  gst_buffer_unref(out);
  EXPECT_TRUE(g_script.seen.route_ms.empty()) << "no budget: no route times asked for";
  g_object_set(t.element(), "latency-budget", 1.0, NULL);  // while PLAYING; every frame takes >= 3 ms
  for (int i = 0; i < 3; ++i) {
    out = t.process();
    ASSERT_NE(out, nullptr);
    EXPECT_TRUE(meta_bool(meta_of(out), "over-budget"));
    gst_buffer_unref(out);
    EXPECT_DOUBLE_EQ(g_script.seen.latency_budget_ms, 1.0);
    ASSERT_EQ(g_script.seen.route_ms.size(), 3u) << "times learned from the frames so far, one per exit";
    EXPECT_GE(g_script.seen.route_ms[2], 3.0);  // the backbone's own frames took >= 3 ms
  }
  EXPECT_EQ(stats_uint64(t.element(), "over-budget-frames"), 3u);
  // The budget is the latency the element promises: the query answers it, and a change asks for a re-query.
  int before = 0;
  for (const auto& m : t.messages()) before += m.type == GST_MESSAGE_LATENCY;
  g_object_set(t.element(), "latency-budget", 25.0, NULL);
  int after = 0;
  for (const auto& m : t.messages()) after += m.type == GST_MESSAGE_LATENCY;
  EXPECT_EQ(after, before + 1);
  EXPECT_EQ(gst_harness_query_latency(t.h()), 25 * GST_MSECOND);
  g_object_set(t.element(), "latency-budget", 0.0, NULL);
  EXPECT_GE(gst_harness_query_latency(t.h()), 3 * GST_MSECOND) << "without a budget: the running estimate again";
  gst_buffer_unref(t.process());
  EXPECT_EQ(stats_uint64(t.element(), "over-budget-frames"), 3u);
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty());
}

TEST(FilterBase, LatencyBudgetWithNoFittingRouteRendersWithoutTheNetworkAndRetimesNowAndThen) {
  GstElement* e = make_fake();
  g_script.without_network = true;
  Harness t(e);
  g_script.sleep_ms = 3;  // the network routes take >= 3 ms, the budget is 1 ms
  g_object_set(t.element(), "latency-budget", 1.0, NULL);
  std::vector<int> exits;
  for (int i = 0; i < 34; ++i) {
    GstBuffer* out = t.process();
    ASSERT_NE(out, nullptr);
    exits.push_back(meta_int(meta_of(out), "exit"));
    if (exits.back() < 0) EXPECT_TRUE(meta_bool(meta_of(out), "budget-limited"));
    EXPECT_FALSE(meta_bool(meta_of(out), "passthrough"));
    gst_buffer_unref(out);
  }
  EXPECT_EQ(exits[0], 2) << "nothing timed yet: the quality route";
  for (int i = 1; i <= 30; ++i) EXPECT_EQ(exits[size_t(i)], -1) << "frame " << i << ": no network route fits";
  EXPECT_EQ(exits[31], 2) << "after 30 frames without the network, one network frame re-times the routes";
  EXPECT_EQ(exits[32], -1);
  EXPECT_EQ(stats_uint64(t.element(), "budget-limited-frames"), 32u);  // frames 1-30, 32, 33
  g_object_set(t.element(), "exit", 0, NULL);  // a forced exit always runs the network
  GstBuffer* out = t.process();
  EXPECT_EQ(meta_int(meta_of(out), "exit"), 0);
  gst_buffer_unref(out);
}

TEST(FilterBase, TargetMissRateNeedsCalibrationFramesAndSaysSoOtherwise) {
  GstElement* e = make_fake();
  g_object_set(e, "target-miss-rate", 0.05, NULL);
  Harness t(e);
  gst_buffer_unref(t.process());
  EXPECT_DOUBLE_EQ(g_script.seen.target_miss_rate, 0.05);
  auto warnings = texts(t.messages(), GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("no calibration frames for scale factor 1/2"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("fiancee calibrate"), std::string::npos) << warnings[0];
}

TEST(FilterBase, TargetMissRateSetWhilePlayingOnACalibratedPackage) {
  GstElement* e = make_fake();
  g_script.calibrated = true;  // read when the element starts and makes its pipeline
  Harness t(e);
  auto* spec = G_PARAM_SPEC_DOUBLE(g_object_class_find_property(G_OBJECT_GET_CLASS(t.element()), "target-miss-rate"));
  ASSERT_NE(spec, nullptr);
  EXPECT_TRUE(G_PARAM_SPEC(spec)->flags & GST_PARAM_MUTABLE_PLAYING);
  g_object_set(t.element(), "target-miss-rate", 0.05, NULL);
  gst_buffer_unref(t.process());
  EXPECT_DOUBLE_EQ(g_script.seen.target_miss_rate, 0.05);
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_WARNING).empty());
  g_object_set(t.element(), "scale-factor", "1/4", "target-miss-rate", 0.1, NULL);  // 1/4 has none
  auto warnings = texts(t.messages(), GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("scale factor 1/4"), std::string::npos) << warnings[0];
}

TEST(FilterBase, OddStridesArePassedThrough) {
  Harness t(make_fake(), 33, 7);  // RGB row 99 bytes, stride 100
  GstBuffer* in = gst_harness_create_buffer(t.h(), t.frame_size());
  GstMapInfo map;
  gst_buffer_map(in, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; ++i) map.data[i] = static_cast<guint8>(i % 100 == 99 ? 0 : (i * 31) & 0xff);
  gst_buffer_unmap(in, &map);
  GST_BUFFER_PTS(in) = 0;
  GstBuffer* keep = gst_buffer_ref(in);
  ASSERT_EQ(gst_harness_push(t.h(), in), GST_FLOW_OK);
  GstBuffer* out = gst_harness_try_pull(t.h());
  ASSERT_NE(out, nullptr);
  GstMapInfo a, b;
  gst_buffer_map(keep, &a, GST_MAP_READ);
  gst_buffer_map(out, &b, GST_MAP_READ);
  ASSERT_EQ(a.size, b.size);
  for (int y = 0; y < 7; ++y)
    EXPECT_EQ(0, memcmp(a.data + y * 100, b.data + y * 100, 99)) << "row " << y;
  gst_buffer_unmap(keep, &a);
  gst_buffer_unmap(out, &b);
  gst_buffer_unref(keep);
  gst_buffer_unref(out);
}

// Criticals abort the process while this lives, as under G_DEBUG=fatal-criticals.
class FatalCriticals {
 public:
  FatalCriticals() : old_(g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL))) {}
  ~FatalCriticals() { g_log_set_always_fatal(old_); }

 private:
  GLogLevelFlags old_;
};

// appsrc's default format is BYTES: such a segment has no running time, so
// no QoS decision (and no GLib CRITICAL from asking for one); frames render normally.
TEST(FilterBase, BytesSegmentSkipsQosWithoutCriticals) {
  FatalCriticals fatal;
  Harness t(make_fake());
  // Late up to 1.2 s, were the segment in TIME.
  ASSERT_TRUE(gst_harness_push_upstream_event(
      t.h(), gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.9, 100 * GST_MSECOND, GST_SECOND)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_BYTES);
  ASSERT_TRUE(gst_harness_push_event(t.h(), gst_event_new_segment(&segment)));
  GstBuffer* out = t.process(GST_SECOND);
  ASSERT_NE(out, nullptr);
  EXPECT_FALSE(meta_bool(meta_of(out), "late"));
  EXPECT_EQ(meta_int(meta_of(out), "exit"), 2);  // the fake's backbone
  gst_buffer_unref(out);
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty());
}

#define REQUIRE_DEV_FULL() \
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full"

// The stats-location warnings of a run (the element stopped first, so a warning at stop is in).
std::vector<Message> log_warnings(Harness& t) {
  EXPECT_EQ(gst_element_set_state(t.element(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty());
  std::vector<Message> out;
  for (const auto& m : t.messages())
    if (m.type == GST_MESSAGE_WARNING) out.push_back({m.type, m.text, m.domain, m.code});
  return out;
}

void expect_log_lost(const Message& warning) {
  EXPECT_EQ(warning.domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(warning.code, GST_RESOURCE_ERROR_WRITE);
  EXPECT_TRUE(contains(warning.text, "stats-location '/dev/full'")) << warning.text;
  EXPECT_TRUE(contains(warning.text, std::strerror(ENOSPC))) << warning.text;
}

// A stats-location that fails mid-run costs the log, not the video: one
// warning naming the file and the OS error, every frame still comes out.
TEST(FilterBase, StatsLocationFailingMidRunWarnsOnceAndTheVideoGoesOn) {
  REQUIRE_DEV_FULL();
  GstElement* e = make_fake();
  g_object_set(e, "stats-location", "/dev/full", NULL);
  Harness t(e);
  const int frames = 300;  // several 4 KiB write buffers of CSV lines
  int out = 0;
  for (int i = 0; i < frames; ++i) {
    GstBuffer* buf = t.process();
    if (!buf) break;
    ++out;
    gst_buffer_unref(buf);
  }
  EXPECT_EQ(out, frames);
  EXPECT_EQ(texts(t.messages(), GST_MESSAGE_WARNING).size(), 1u) << "the failure should show during the run";
  const auto warnings = log_warnings(t);
  ASSERT_EQ(warnings.size(), 1u) << "no second warning at stop";
  expect_log_lost(warnings[0]);
}

// A short run's lines are all still buffered at stop: losing them there is a warning too.
TEST(FilterBase, StatsLocationFailingAtStopWarns) {
  REQUIRE_DEV_FULL();
  GstElement* e = make_fake();
  g_object_set(e, "stats-location", "/dev/full", NULL);
  Harness t(e);
  for (int i = 0; i < 3; ++i) gst_buffer_unref(t.process());
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_WARNING).empty());
  const auto warnings = log_warnings(t);
  ASSERT_EQ(warnings.size(), 1u);
  expect_log_lost(warnings[0]);
}

// ------------------------------------------------------------------ fianceesynth

GstElement* make_synth(const std::string& backbone = "oasis") {
  GstElement* e = gst_element_factory_make("fianceesynth", nullptr);
  EXPECT_NE(e, nullptr);
  e = GST_ELEMENT(gst_object_ref_sink(e));
  g_object_set(e, "model-location", g_fixtures->scenes.c_str(), "backbone", backbone.c_str(), NULL);
  return e;
}

TEST(Synth, AcceptsGray8InRgbOut) {
  GstElement* e = make_synth();
  GstPad* sink = gst_element_get_static_pad(e, "sink");
  GstPad* src = gst_element_get_static_pad(e, "src");
  EXPECT_TRUE(accepts(sink, "video/x-raw,format=GRAY8,width=64,height=32,framerate=10/1"));
  EXPECT_FALSE(accepts(sink, "video/x-raw,format=RGB,width=64,height=32,framerate=10/1"));
  EXPECT_FALSE(accepts(sink, "video/x-raw,format=I420,width=64,height=32,framerate=10/1"));
  EXPECT_TRUE(accepts(src, "video/x-raw,format=RGB,width=64,height=32,framerate=10/1"));
  EXPECT_FALSE(accepts(src, "video/x-raw,format=GRAY8,width=64,height=32,framerate=10/1"));
  gst_object_unref(sink);
  gst_object_unref(src);
  gst_object_unref(e);
}

TEST(Synth, PushingRgbIsNotNegotiated) {
  Harness t(make_synth(), 64, 32);  // the harness's RGB caps
  GstBuffer* buf = gst_harness_create_buffer(t.h(), t.frame_size());
  EXPECT_EQ(gst_harness_push(t.h(), buf), GST_FLOW_NOT_NEGOTIATED);
}

TEST(Synth, RendersRgbAtTheLabelMapSizeWithMeta) {
  // OASIS: branches after the front and blocks 1-3; ASAP-Net: after stages 1-3.
  for (const auto& [backbone, exits] : {std::pair<const char*, int>{"oasis", 5}, {"asap", 4}}) {
    Harness t(make_synth(backbone), 96, 50, GST_VIDEO_FORMAT_GRAY8);  // GRAY8 stride 96, RGB 288; not the model's size
    GstBuffer* out = t.process();
    ASSERT_NE(out, nullptr) << backbone;
    GstCaps* caps = gst_pad_get_current_caps(t.h()->sinkpad);
    ASSERT_NE(caps, nullptr);
    GstVideoInfo info;
    ASSERT_TRUE(gst_video_info_from_caps(&info, caps));
    EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&info), GST_VIDEO_FORMAT_RGB) << backbone;
    EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 96);
    EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), 50);
    EXPECT_EQ(gst_buffer_get_size(out), GST_VIDEO_INFO_SIZE(&info));
    const GstStructure* meta = meta_of(out);
    ASSERT_NE(meta, nullptr);
    EXPECT_EQ(meta_int(meta, "num-exits"), exits) << backbone;
    gst_caps_unref(caps);
    gst_buffer_unref(out);
    EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty()) << backbone;
  }
}

TEST(Synth, PropertiesHaveDefaultsAndAnExample) {
  GstElement* e = gst_element_factory_make("fianceesynth", nullptr);
  ASSERT_NE(e, nullptr);
  gchar* backbone = nullptr;
  guint64 seed = 1;
  gint noise = -1;
  g_object_get(e, "backbone", &backbone, "seed", &seed, "noise", &noise, NULL);
  EXPECT_STREQ(backbone, "");
  EXPECT_EQ(seed, 0u);
  EXPECT_EQ(noise, 0);  // fixed
  g_free(backbone);
  for (const char* name : {"model-location", "quality-threshold", "scale-factor", "database-location", "device", "exit", "stats"})
    EXPECT_NE(g_object_class_find_property(G_OBJECT_GET_CLASS(e), name), nullptr) << name;
  const gchar* description = gst_element_class_get_metadata(GST_ELEMENT_GET_CLASS(e), GST_ELEMENT_METADATA_DESCRIPTION);
  EXPECT_TRUE(contains(description, "gst-launch-1.0")) << description;
  gst_object_unref(e);
}

TEST(Synth, ClassIdBeyondTheModelIsAClearError) {
  Harness t(make_synth(), 64, 32, GST_VIDEO_FORMAT_GRAY8);
  GstBuffer* buf = gst_harness_create_buffer(t.h(), t.frame_size());
  gst_buffer_memset(buf, 0, 3, t.frame_size());
  gst_buffer_memset(buf, 70, 200, 1);
  GST_BUFFER_PTS(buf) = 0;
  EXPECT_EQ(gst_harness_push(t.h(), buf), GST_FLOW_ERROR);
  const auto errors = texts(t.messages(), GST_MESSAGE_ERROR);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(contains(errors[0], "class id 200")) << errors[0];
}

TEST(Synth, WrongPackagesAndBackbonesFailToStart) {
  GstElement* e = make_synth("spade");
  auto r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "backbone 'spade'") && contains(r.errors[0], "asap, oasis")) << r.errors[0];
  free_messages(r.messages);
  g_object_set(e, "model-location", package().c_str(), "backbone", "", NULL);  // a reenactment package
  r = try_start(e);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "'reenact' package")) << r.errors[0];
  free_messages(r.messages);
  gst_object_unref(e);
}

TEST(Synth, UsesThePackageThresholdUnlessSet) {
  {
    Harness t(make_synth(), 64, 32, GST_VIDEO_FORMAT_GRAY8);
    GstBuffer* out = t.process();
    ASSERT_NE(out, nullptr);
    gst_buffer_unref(out);
    double threshold = 0;
    g_object_get(t.element(), "quality-threshold", &threshold, NULL);
    EXPECT_DOUBLE_EQ(threshold, 0.05) << "the package's default_threshold should apply when none is set";
  }
  GstElement* e = make_synth();
  g_object_set(e, "quality-threshold", 0.2, NULL);
  Harness t(e, 64, 32, GST_VIDEO_FORMAT_GRAY8);
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  gst_buffer_unref(out);
  double threshold = 0;
  g_object_get(e, "quality-threshold", &threshold, NULL);
  EXPECT_DOUBLE_EQ(threshold, 0.2);
}

// Two elements naming one shared-engine: their frames run as one batch, each
// keeps its own output and meta, and the image is the one an element of its
// own renders (up to float rounding of batched kernels).
TEST(Synth, SharedEngineBatchesTwoStreamsAndKeepsTheirOutputs) {
  const auto shared = [](int window_ms) {
    GstElement* e = make_synth();
    g_object_set(e, "shared-engine", "harness-pair", "batch-window", double(window_ms), NULL);
    return e;
  };
  Harness alone(make_synth(), 64, 32, GST_VIDEO_FORMAT_GRAY8);
  // A window far longer than a frame: each batch forms because both streams have a frame waiting.
  Harness a(shared(1000), 64, 32, GST_VIDEO_FORMAT_GRAY8), b(shared(1000), 64, 32, GST_VIDEO_FORMAT_GRAY8);
  const int frames = 3;
  for (int i = 0; i < frames; ++i) {
    GstBuffer* out_a = nullptr;
    std::thread other([&] { out_a = a.process(); });
    GstBuffer* out_b = b.process();
    other.join();
    GstBuffer* reference = alone.process();
    ASSERT_TRUE(out_a && out_b && reference) << "frame " << i;
    for (GstBuffer* out : {out_a, out_b}) {
      EXPECT_EQ(meta_int(meta_of(out), "batch"), 2) << "frame " << i;
      GstMapInfo m, r;
      ASSERT_TRUE(gst_buffer_map(out, &m, GST_MAP_READ));
      ASSERT_TRUE(gst_buffer_map(reference, &r, GST_MAP_READ));
      ASSERT_EQ(m.size, r.size);
      int worst = 0;
      for (gsize k = 0; k < m.size; ++k) worst = std::max(worst, std::abs(int(m.data[k]) - int(r.data[k])));
      EXPECT_LE(worst, 1) << "frame " << i << ": shared output differs from an element's own by " << worst << " levels";
      gst_buffer_unmap(out, &m);
      gst_buffer_unmap(reference, &r);
    }
    EXPECT_EQ(meta_int(meta_of(reference), "batch"), 1);
    gst_buffer_unref(out_a);
    gst_buffer_unref(out_b);
    gst_buffer_unref(reference);
  }
  EXPECT_EQ(stats_uint64(a.element(), "batched-frames"), guint64(frames));
  EXPECT_EQ(stats_uint64(alone.element(), "batched-frames"), 0u);
  for (Harness* t : {&a, &b, &alone}) EXPECT_TRUE(texts(t->messages(), GST_MESSAGE_ERROR).empty());
}

TEST(Synth, PrecisionBf16RendersAndSaysSo) {
  GstElement* e = make_synth("oasis");
  gint precision = -1;
  g_object_get(e, "precision", &precision, NULL);
  EXPECT_EQ(precision, static_cast<gint>(fiancee::Precision::Fp32)) << "the default";
  gst_util_set_object_arg(G_OBJECT(e), "precision", "bf16");
  Harness t(e, 64, 32, GST_VIDEO_FORMAT_GRAY8);
  GstBuffer* out = t.process();
  ASSERT_NE(out, nullptr);
  gst_buffer_unref(out);
  GstStructure* s = stats_of(e);
  const gchar* name = gst_structure_get_string(s, "precision");
  EXPECT_STREQ(name, "bf16");
  gst_structure_free(s);
  EXPECT_TRUE(texts(t.messages(), GST_MESSAGE_ERROR).empty());
}

TEST(Synth, SharedEngineOfAnotherModelFailsToStartNamingIt) {
  GstElement* first = make_synth("oasis");
  g_object_set(first, "shared-engine", "harness-clash", NULL);
  Harness running(first, 64, 32, GST_VIDEO_FORMAT_GRAY8);
  GstElement* second = make_synth("asap");
  g_object_set(second, "shared-engine", "harness-clash", NULL);
  const auto r = try_start(second);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "harness-clash")) << r.errors[0];
  EXPECT_TRUE(contains(r.errors[0], "oasis")) << r.errors[0];
  EXPECT_TRUE(contains(r.errors[0], "asap")) << r.errors[0];
  gst_object_unref(second);
}

}  // namespace

// ------------------------------------------------------------------ state cycles

namespace {

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") return in >> value ? value : 0;
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

}  // namespace

// NULL -> PLAYING -> NULL over and over while another thread changes the
// properties: no error, no crash, no deadlock, and (over long runs, see
// scripts/soak.sh) no memory growth. FIANCEE_STATE_CYCLES sets the count.
TEST(Element, StateCyclesWithPropertiesChangedFromAnotherThread) {
  const char* env = std::getenv("FIANCEE_STATE_CYCLES");
  const int cycles = env ? std::max(1, std::atoi(env)) : 20;
  // Label maps of class 0 (videotestsrc's GRAY8 black is 16, beyond the demo's classes).
  const std::string zeros = g_fixtures->dir.file("zeros.gray");
  std::ofstream(zeros, std::ios::binary) << std::string(64 * 32 * 200, '\0');
  for (const std::string element : {"fianceereenact", "fianceesynth"}) {
    const bool reenact = element == "fianceereenact";
    const std::string desc =
        reenact ? "videotestsrc ! video/x-raw,format=RGB,width=48,height=48 ! fianceereenact name=f no-face=neutral model-location=" +
                      package() + " source-location=" + source_of(package()) + " ! fakesink"
                : "filesrc location=" + zeros + " ! rawvideoparse format=gray8 width=64 height=32 ! fianceesynth name=f "
                  "model-location=" + g_fixtures->scenes + "/oasis ! fakesink";
    GError* err = nullptr;
    GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
    ASSERT_EQ(err, nullptr) << err->message;
    GstElement* f = gst_bin_get_by_name(GST_BIN(pipeline), "f");
    GstBus* bus = gst_element_get_bus(pipeline);
    long rss_warm = 0;
    // In a scope of its own: the property thread is joined and the pipeline
    // stopped (also when an ASSERT returns early) before the unrefs below.
    [&] {
      std::atomic<bool> done{false};
      std::thread changer([&] {
        for (int i = 0; !done; ++i) {
          g_object_set(f, "quality-threshold", 0.01 * (i % 50), "exit", i % 3 - 1, NULL);
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      });
      // Joined however the loop below ends (a failed ASSERT returns early).
      const std::unique_ptr<std::thread, void (*)(std::thread*)> joiner(&changer, [](std::thread* t) { t->join(); });
      struct Stop {
        std::atomic<bool>& done;
        GstElement* pipeline;
        ~Stop() {
          done = true;
          gst_element_set_state(pipeline, GST_STATE_NULL);
        }
      } stop{done, pipeline};
      for (int c = 0; c < cycles; ++c) {
        ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << element << " cycle " << c;
        if (gst_element_get_state(pipeline, nullptr, nullptr, 30 * GST_SECOND) != GST_STATE_CHANGE_SUCCESS) {
          std::string why;
          auto messages = drain(bus);
          for (const auto& m : messages) why += m.text + "; ";
          free_messages(messages);
          FAIL() << element << " cycle " << c << " did not reach PLAYING: " << why;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ASSERT_EQ(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS) << element << " cycle " << c;
        auto messages = drain(bus);
        std::string errors;
        for (const auto& m : messages)
          if (m.type == GST_MESSAGE_ERROR) errors += m.text + "; ";
        free_messages(messages);
        ASSERT_EQ(errors, "") << element << " cycle " << c;
        if (c == std::min(cycles - 1, 10)) rss_warm = rss_kb();
      }
    }();
    const long rss_end = rss_kb();
    std::cout << "[          ] " << element << ": " << cycles << " cycles, RSS " << rss_warm << " kB after 10, " << rss_end
              << " kB at the end\n";
    // Short runs are allocator noise; long ones (the soak's) must stay flat.
    // Each stop hands the allocator's free pages back (runtime::release_free_memory);
    // before it did, 200 reenact cycles grew by 3.9%, after it 0.8%.
    if (cycles >= 100) EXPECT_LT(rss_end, rss_warm * 102 / 100) << element;
    gst_object_unref(bus);
    gst_object_unref(f);
    gst_object_unref(pipeline);
  }
}
