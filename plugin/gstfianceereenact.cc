// fianceereenact: the reenactment element. Everything but the source image
// property, the caps and the pipeline factory lives in GstFianceeFilter.
#include "plugin/gstfianceereenact.h"

#include <string>

#include "core/defaults.h"
#include "pipelines/reenact.h"

GST_DEBUG_CATEGORY_STATIC(gst_fiancee_reenact_debug);
#define GST_CAT_DEFAULT gst_fiancee_reenact_debug

struct _GstFianceeReenact {
  GstFianceeFilter parent;
  gchar* source_location;  // guarded by the object lock, like the fields below
  gint no_face;            // fiancee::NoFaceAction
  gint expression_transfer;  // fiancee::ExpressionTransfer
  guint face_hold_frames;
  guint face_redetect_interval;
  gboolean refine;
};

enum {
  PROP_0,
  PROP_SOURCE_LOCATION,
  PROP_NO_FACE,
  PROP_FACE_HOLD_FRAMES,
  PROP_FACE_REDETECT_INTERVAL,
  PROP_EXPRESSION_TRANSFER,
  PROP_REFINE,
};

static GType gst_fiancee_no_face_get_type(void) {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<gint>(fiancee::NoFaceAction::Passthrough), "Pass the driver frame through unchanged", "passthrough"},
        {static_cast<gint>(fiancee::NoFaceAction::Neutral), "Render the avatar as in its photo", "neutral"},
        {0, nullptr, nullptr}};
    g_once_init_leave(&type, g_enum_register_static("GstFianceeNoFace", values));
  }
  return type;
}

static GType gst_fiancee_expression_transfer_get_type(void) {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<gint>(fiancee::ExpressionTransfer::Relative),
         "The avatar's typical expression moved by the driver's change from its own typical expression", "relative"},
        {static_cast<gint>(fiancee::ExpressionTransfer::Absolute), "The driver's landmark measurements as they are",
         "absolute"},
        {0, nullptr, nullptr}};
    g_once_init_leave(&type, g_enum_register_static("GstFianceeExpressionTransfer", values));
  }
  return type;
}

G_DEFINE_TYPE_WITH_CODE(GstFianceeReenact, gst_fiancee_reenact, GST_TYPE_FIANCEE_FILTER,
                        GST_DEBUG_CATEGORY_INIT(gst_fiancee_reenact_debug, "fianceereenact", 0,
                                                "fiancee early-exit face reenactment"))

GST_ELEMENT_REGISTER_DEFINE(fianceereenact, "fianceereenact", GST_RANK_NONE, GST_TYPE_FIANCEE_REENACT)

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("RGB")));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("RGB")));

static std::unique_ptr<fiancee::FramePipeline> gst_fiancee_reenact_create_pipeline(
    GstFianceeFilter* filter, const GstFianceeLoadSettings& settings) {
  auto* self = GST_FIANCEE_REENACT(filter);
  fiancee::ReenactOptions options;
  GST_OBJECT_LOCK(self);
  options.source_location = self->source_location ? self->source_location : "";
  options.no_face = static_cast<fiancee::NoFaceAction>(self->no_face);
  options.expression_transfer = static_cast<fiancee::ExpressionTransfer>(self->expression_transfer);
  options.face_hold_frames = static_cast<int>(self->face_hold_frames);
  options.face_redetect_interval = static_cast<int>(self->face_redetect_interval);
  options.refine = self->refine;
  GST_OBJECT_UNLOCK(self);
  if (options.source_location.empty())
    throw fiancee::InputError("No source image given: set the source-location property to the avatar image.");
  if (!g_file_test(options.source_location.c_str(), G_FILE_TEST_EXISTS))
    throw fiancee::NotFoundError("Source image '" + options.source_location + "' (source-location) not found.");
  options.model_location = settings.model_location;
  options.database_location = settings.database_location;
  options.sharing = settings.sharing;
  options.precision = settings.precision;
  options.device = settings.device;
  GST_DEBUG_OBJECT(self, "loading '%s' with source '%s'", options.model_location.c_str(),
                   options.source_location.c_str());
  return fiancee::make_reenact_pipeline(options);
}

static void gst_fiancee_reenact_set_property(GObject* object, guint prop_id, const GValue* value,
                                             GParamSpec* pspec) {
  auto* self = GST_FIANCEE_REENACT(object);
  switch (prop_id) {
    case PROP_SOURCE_LOCATION:
      GST_OBJECT_LOCK(self);
      g_free(self->source_location);
      self->source_location = g_value_dup_string(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_NO_FACE:
      GST_OBJECT_LOCK(self);
      self->no_face = g_value_get_enum(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_EXPRESSION_TRANSFER:
      GST_OBJECT_LOCK(self);
      self->expression_transfer = g_value_get_enum(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_FACE_HOLD_FRAMES:
      GST_OBJECT_LOCK(self);
      self->face_hold_frames = g_value_get_uint(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_FACE_REDETECT_INTERVAL:
      GST_OBJECT_LOCK(self);
      self->face_redetect_interval = g_value_get_uint(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_REFINE:
      GST_OBJECT_LOCK(self);
      self->refine = g_value_get_boolean(value);
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_fiancee_reenact_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_FIANCEE_REENACT(object);
  switch (prop_id) {
    case PROP_SOURCE_LOCATION:
      GST_OBJECT_LOCK(self);
      g_value_set_string(value, self->source_location ? self->source_location : "");
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_NO_FACE:
      GST_OBJECT_LOCK(self);
      g_value_set_enum(value, self->no_face);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_EXPRESSION_TRANSFER:
      GST_OBJECT_LOCK(self);
      g_value_set_enum(value, self->expression_transfer);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_FACE_HOLD_FRAMES:
      GST_OBJECT_LOCK(self);
      g_value_set_uint(value, self->face_hold_frames);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_FACE_REDETECT_INTERVAL:
      GST_OBJECT_LOCK(self);
      g_value_set_uint(value, self->face_redetect_interval);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_REFINE:
      GST_OBJECT_LOCK(self);
      g_value_set_boolean(value, self->refine);
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_fiancee_reenact_finalize(GObject* object) {
  auto* self = GST_FIANCEE_REENACT(object);
  g_free(self->source_location);
  G_OBJECT_CLASS(gst_fiancee_reenact_parent_class)->finalize(object);
}

static void gst_fiancee_reenact_init(GstFianceeReenact* self) {
  self->source_location = nullptr;
  self->no_face = static_cast<gint>(fiancee::NoFaceAction::Passthrough);
  self->expression_transfer = static_cast<gint>(fiancee::ExpressionTransfer::Relative);
  self->face_hold_frames = fiancee::defaults::kFaceHoldFrames;
  self->face_redetect_interval = fiancee::defaults::kFaceRedetectInterval;
  self->refine = TRUE;
}

static void gst_fiancee_reenact_class_init(GstFianceeReenactClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* fiancee_class = GST_FIANCEE_FILTER_CLASS(klass);

  gobject_class->set_property = gst_fiancee_reenact_set_property;
  gobject_class->get_property = gst_fiancee_reenact_get_property;
  gobject_class->finalize = gst_fiancee_reenact_finalize;

  g_object_class_install_property(gobject_class, PROP_SOURCE_LOCATION,
      g_param_spec_string("source-location", "Source location",
                          "Avatar photo (PNG, JPEG, ...; any size; grey, RGB or RGBA) that the driver video "
                          "animates (required). Read when the element starts: its largest face is the avatar; a "
                          "photo without a face is a resource error naming the file. The output shows the photo "
                          "framed to the output size with the aspect kept and the face animated "
                          "(docs/reenactment.md).",
                          "",
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_READY)));

  g_object_class_install_property(gobject_class, PROP_NO_FACE,
      g_param_spec_enum("no-face", "No face",
                        "What to output once no face has been found in the driver video for face-hold-frames "
                        "frames (until then the last good pose is reused). Frames passed through carry "
                        "passthrough=true in their meta.",
                        gst_fiancee_no_face_get_type(), static_cast<gint>(fiancee::NoFaceAction::Passthrough),
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(gobject_class, PROP_FACE_HOLD_FRAMES,
      g_param_spec_uint("face-hold-frames", "Face hold frames",
                        "Frames without a detected face during which the last good pose and expression are reused.",
                        0, 10000, fiancee::defaults::kFaceHoldFrames,
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  g_object_class_install_property(gobject_class, PROP_FACE_REDETECT_INTERVAL,
      g_param_spec_uint("face-redetect-interval", "Face redetect interval",
                        "Run the face detector (the front end's main cost) on every Nth frame only and fit the "
                        "landmarks in the box that follows the face in between; a lost face or a scene cut detects "
                        "again. 1 = detect on every frame.",
                        1, 1000, fiancee::defaults::kFaceRedetectInterval,
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  g_object_class_install_property(gobject_class, PROP_EXPRESSION_TRANSFER,
      g_param_spec_enum("expression-transfer", "Expression transfer",
                        "How the driver's motion reaches the avatar. relative: the avatar's own landmarks moved by "
                        "the driver's change from its typical face (per-point median of its last 250 frames with a "
                        "face, restarted at a scene cut), so a driver whose face shape differs from the avatar's "
                        "does not impose it; absolute: the driver's landmarks scaled and rotated onto the avatar "
                        "(the avatar takes the driver's face shape).",
                        gst_fiancee_expression_transfer_get_type(), static_cast<gint>(fiancee::ExpressionTransfer::Relative),
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  g_object_class_install_property(gobject_class, PROP_REFINE,
      g_param_spec_boolean("refine", "Refine",
                           "TRUE: the package's refiner (with its early exits) corrects the warped photo. FALSE: the "
                           "warp alone, no network: the photo's own pixels moved by the driver's landmarks, the "
                           "cheapest mode, but an opening mouth shows stretched lips and a blink only squashes the "
                           "eye. Such frames carry exit=-1 and 0 GFLOPs in their meta. Example: ... ! fianceereenact "
                           "model-location=assets/refiner-256 source-location=me.png refine=false ! ...",
                           TRUE, static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  gst_element_class_set_static_metadata(element_class, "FIANCEE face reenactment", "Filter/Effect/Video",
      "Animates the avatar in source-location with the head pose and expression of the face in the incoming "
      "video, using a generative reenactment model with per-frame early exits (FIANCEE): a predictor estimates "
      "for every frame the quality each exit would reach, and the cheapest exit within quality-threshold renders "
      "it. Every output buffer carries a \"FianceeFrameMeta\" custom meta (exit, predicted qualities, GFLOPs, "
      "ms); late frames (QoS) are rendered with the cheapest exit instead of being dropped. Example:\n"
      "  gst-launch-1.0 filesrc location=driver.mp4 ! decodebin ! videoconvert ! fianceereenact "
      "model-location=assets/refiner-256 source-location=me.png ! videoconvert ! "
      "autovideosink",
      "fiancee developers <fiancee@example.invalid>");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  fiancee_class->create_pipeline = gst_fiancee_reenact_create_pipeline;
}
