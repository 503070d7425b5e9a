// fianceesynth: the semantic-synthesis element. Everything but the backbone /
// noise properties, the GRAY8 -> RGB caps and the pipeline factory lives in
// GstFianceeFilter.
#include "plugin/gstfianceesynth.h"

#include <string>

#include "pipelines/synth.h"

GST_DEBUG_CATEGORY_STATIC(gst_fiancee_synth_debug);
#define GST_CAT_DEFAULT gst_fiancee_synth_debug

struct _GstFianceeSynth {
  GstFianceeFilter parent;
  gchar* backbone;  // guarded by the object lock, like the two below
  guint64 seed;
  gint noise;       // fiancee::NoiseMode
};

enum {
  PROP_0,
  PROP_BACKBONE,
  PROP_SEED,
  PROP_NOISE,
};

static GType gst_fiancee_noise_get_type(void) {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<gint>(fiancee::NoiseMode::Fixed), "One noise vector from seed for every frame (temporally stable)", "fixed"},
        {static_cast<gint>(fiancee::NoiseMode::PerFrame), "A new noise vector per frame (seed + frame number)", "per-frame"},
        {0, nullptr, nullptr}};
    g_once_init_leave(&type, g_enum_register_static("GstFianceeNoise", values));
  }
  return type;
}

G_DEFINE_TYPE_WITH_CODE(GstFianceeSynth, gst_fiancee_synth, GST_TYPE_FIANCEE_FILTER,
                        GST_DEBUG_CATEGORY_INIT(gst_fiancee_synth_debug, "fianceesynth", 0,
                                                "fiancee early-exit semantic image synthesis"))

GST_ELEMENT_REGISTER_DEFINE(fianceesynth, "fianceesynth", GST_RANK_NONE, GST_TYPE_FIANCEE_SYNTH)

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("GRAY8")));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("RGB")));

// Same size and rate on both sides; only the format changes (GRAY8 <-> RGB).
static GstCaps* gst_fiancee_synth_transform_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps,
                                                 GstCaps* filter) {
  const char* format = direction == GST_PAD_SINK ? "RGB" : "GRAY8";
  GstCaps* out = gst_caps_new_empty();
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    GstStructure* s = gst_structure_copy(gst_caps_get_structure(caps, i));
    gst_structure_set(s, "format", G_TYPE_STRING, format, NULL);
    gst_structure_remove_fields(s, "colorimetry", "chroma-site", NULL);
    GstCapsFeatures* features = gst_caps_get_features(caps, i);
    gst_caps_append_structure_full(out, s, features ? gst_caps_features_copy(features) : nullptr);
  }
  if (filter) {
    GstCaps* both = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = both;
  }
  GST_DEBUG_OBJECT(trans, "%s caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
                   direction == GST_PAD_SINK ? "sink" : "src", caps, out);
  return out;
}

static std::unique_ptr<fiancee::FramePipeline> gst_fiancee_synth_create_pipeline(GstFianceeFilter* filter,
                                                                                 const GstFianceeLoadSettings& settings) {
  auto* self = GST_FIANCEE_SYNTH(filter);
  fiancee::SynthOptions options;
  GST_OBJECT_LOCK(self);
  options.backbone = self->backbone ? self->backbone : "";
  options.seed = self->seed;
  options.noise = static_cast<fiancee::NoiseMode>(self->noise);
  GST_OBJECT_UNLOCK(self);
  options.model_location = settings.model_location;
  options.database_location = settings.database_location;
  options.sharing = settings.sharing;
  options.precision = settings.precision;
  options.device = settings.device;
  GST_DEBUG_OBJECT(self, "loading '%s' (backbone '%s', seed %" G_GUINT64_FORMAT ")", options.model_location.c_str(),
                   options.backbone.c_str(), options.seed);
  return fiancee::make_synth_pipeline(options);
}

static void gst_fiancee_synth_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_FIANCEE_SYNTH(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_BACKBONE:
      g_free(self->backbone);
      self->backbone = g_value_dup_string(value);
      break;
    case PROP_SEED:
      self->seed = g_value_get_uint64(value);
      break;
    case PROP_NOISE:
      self->noise = g_value_get_enum(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_fiancee_synth_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_FIANCEE_SYNTH(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_BACKBONE:
      g_value_set_string(value, self->backbone ? self->backbone : "");
      break;
    case PROP_SEED:
      g_value_set_uint64(value, self->seed);
      break;
    case PROP_NOISE:
      g_value_set_enum(value, self->noise);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_fiancee_synth_finalize(GObject* object) {
  g_free(GST_FIANCEE_SYNTH(object)->backbone);
  G_OBJECT_CLASS(gst_fiancee_synth_parent_class)->finalize(object);
}

static void gst_fiancee_synth_init(GstFianceeSynth* self) {
  self->backbone = nullptr;
  self->seed = 0;
  self->noise = static_cast<gint>(fiancee::NoiseMode::Fixed);
}

static void gst_fiancee_synth_class_init(GstFianceeSynthClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto* fiancee_class = GST_FIANCEE_FILTER_CLASS(klass);

  gobject_class->set_property = gst_fiancee_synth_set_property;
  gobject_class->get_property = gst_fiancee_synth_get_property;
  gobject_class->finalize = gst_fiancee_synth_finalize;
  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  g_object_class_install_property(gobject_class, PROP_BACKBONE,
      g_param_spec_string("backbone", "Backbone",
                          "When model-location is a directory of packages (e.g. assets/scenes-demo holds 'asap' and "
                          "'oasis'), the sub-directory to run; empty = the first by name. For a single package, empty "
                          "or its architecture family.",
                          "", ready));
  g_object_class_install_property(gobject_class, PROP_SEED,
      g_param_spec_uint64("seed", "Seed",
                          "Seed of OASIS's noise vector (ASAP-Net takes no noise). The same seed renders the same "
                          "label map identically; demo packages were trained with seeds 0-7.",
                          0, G_MAXUINT64, 0, ready));
  g_object_class_install_property(gobject_class, PROP_NOISE,
      g_param_spec_enum("noise", "Noise", "How the noise vector changes over the stream.", gst_fiancee_noise_get_type(),
                        static_cast<gint>(fiancee::NoiseMode::Fixed), ready));

  gst_element_class_set_static_metadata(element_class, "FIANCEE semantic image synthesis", "Filter/Effect/Video",
      "Renders an image from every label-map frame (GRAY8, one class id per pixel) with a semantic synthesis "
      "model (OASIS or ASAP-Net) with per-frame early exits (FIANCEE): a predictor estimates for every frame the "
      "quality each exit would reach, and the cheapest exit within quality-threshold renders it. Output is RGB at "
      "the input size. Every output buffer carries a \"FianceeFrameMeta\" custom meta. Example:\n"
      "  gst-launch-1.0 multifilesrc location=scenes/labels_%04d.png caps=image/png,framerate=10/1 ! pngdec ! "
      "fianceesynth model-location=assets/scenes-demo backbone=oasis quality-threshold=0.1 ! videoconvert ! "
      "autovideosink",
      "fiancee developers <fiancee@example.invalid>");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_fiancee_synth_transform_caps);
  fiancee_class->create_pipeline = gst_fiancee_synth_create_pipeline;
}
