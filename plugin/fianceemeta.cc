#include "plugin/fianceemeta.h"

#include <string>

#include "core/frame_report.h"

namespace {

// GstStructure field names stay readable in gst_structure_to_string():
// anything outside [A-Za-z0-9_-] becomes '-'.
std::string field_name(const std::string& name) {
  std::string out = name.empty() ? std::string("stage") : name;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_';
    if (!ok) c = '-';
  }
  if (!((out[0] >= 'a' && out[0] <= 'z') || (out[0] >= 'A' && out[0] <= 'Z'))) out = "s" + out;
  return out;
}

}  // namespace

const GstMetaInfo* fiancee_frame_meta_get_info() {
  static const GstMetaInfo* info = nullptr;
  if (g_once_init_enter(&info)) {
    // No tags: the meta is not tied to pixel data, so videoconvert & co. keep it.
    static const gchar* tags[] = {nullptr};
    const GstMetaInfo* registered = gst_meta_get_info(FIANCEE_FRAME_META_NAME);
    if (!registered) registered = gst_meta_register_custom(FIANCEE_FRAME_META_NAME, tags, nullptr, nullptr, nullptr);
    g_once_init_leave(&info, registered);
  }
  return info;
}

bool fiancee_frame_meta_is(const GstMeta* meta) {
  return meta && meta->info == fiancee_frame_meta_get_info();
}

GstStructure* fiancee_frame_meta_add(GstBuffer* buffer, const fiancee::FrameReport& report) {
  fiancee_frame_meta_get_info();
  GstCustomMeta* meta = gst_buffer_add_custom_meta(buffer, FIANCEE_FRAME_META_NAME);
  if (!meta) return nullptr;
  GstStructure* s = gst_custom_meta_get_structure(meta);

  GValue predicted = G_VALUE_INIT;
  g_value_init(&predicted, GST_TYPE_ARRAY);
  for (double q : report.predicted) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_DOUBLE);
    g_value_set_double(&v, q);
    gst_value_array_append_and_take_value(&predicted, &v);
  }

  GstStructure* stages = gst_structure_new_empty("stage-ms");
  for (const auto& [name, ms] : report.stage_ms) gst_structure_set(stages, field_name(name).c_str(), G_TYPE_DOUBLE, ms, NULL);

  gst_structure_set(s, "exit", G_TYPE_INT, report.exit, "num-exits", G_TYPE_INT, report.num_exits, NULL);
  gst_structure_take_value(s, "predicted", &predicted);
  gst_structure_set(s,
                    "gflops", G_TYPE_DOUBLE, report.gflops,
                    "backbone-gflops", G_TYPE_DOUBLE, report.backbone_gflops,
                    "ms", G_TYPE_DOUBLE, report.total_ms,
                    "measured", G_TYPE_DOUBLE, report.measured,
                    "scale-factor", G_TYPE_STRING, report.scale_factor.c_str(),
                    "forced", G_TYPE_BOOLEAN, report.forced,
                    "late", G_TYPE_BOOLEAN, report.late,
                    "fell-back", G_TYPE_BOOLEAN, report.fell_back,
                    "held", G_TYPE_BOOLEAN, report.held,
                    "wanted-exit", G_TYPE_INT, report.wanted_exit,
                    "routed-threshold", G_TYPE_DOUBLE, report.threshold,
                    "budget-limited", G_TYPE_BOOLEAN, report.budget_limited,
                    "frame-ms", G_TYPE_DOUBLE, report.frame_ms,
                    "over-budget", G_TYPE_BOOLEAN, report.over_budget,
                    "batch", G_TYPE_INT, report.batch,
                    "passthrough", G_TYPE_BOOLEAN, report.passthrough,
                    "stage-ms", GST_TYPE_STRUCTURE, stages,
                    NULL);
  gst_structure_free(stages);
  return s;
}

const GstStructure* fiancee_frame_meta_get(GstBuffer* buffer) {
  fiancee_frame_meta_get_info();
  GstCustomMeta* meta = gst_buffer_get_custom_meta(buffer, FIANCEE_FRAME_META_NAME);
  return meta ? gst_custom_meta_get_structure(meta) : nullptr;
}
