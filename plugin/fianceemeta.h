// Per-buffer FIANCEE metadata: a GstCustomMeta (GStreamer >= 1.20) named
// "FianceeFrameMeta" whose GstStructure carries the frame's route report.
//
// Applications read it without any fiancee header:
//
//   GstCustomMeta *m = gst_buffer_get_custom_meta (buf, "FianceeFrameMeta");
//   if (m) {
//     GstStructure *s = gst_custom_meta_get_structure (m);
//     gint exit; gst_structure_get_int (s, "exit", &exit);  // -1: not rendered by the model
//   }
//
// Field names and types are listed in docs/element.md ("Buffer metadata").
#pragma once

#include <gst/gst.h>

#define FIANCEE_FRAME_META_NAME "FianceeFrameMeta"

namespace fiancee {
struct FrameReport;
}

// Registers the meta once (thread-safe, idempotent) and returns its info.
const GstMetaInfo* fiancee_frame_meta_get_info();

// TRUE when `meta` is a FianceeFrameMeta.
bool fiancee_frame_meta_is(const GstMeta* meta);

// Attaches a FianceeFrameMeta describing `report` to the writable `buffer`
// and returns its structure (owned by the buffer).
GstStructure* fiancee_frame_meta_add(GstBuffer* buffer, const fiancee::FrameReport& report);

// The structure of the buffer's FianceeFrameMeta, or NULL. Owned by the buffer.
const GstStructure* fiancee_frame_meta_get(GstBuffer* buffer);
