// GstFianceeFilter: the abstract base of the fiancee elements
// (fianceereenact, fianceesynth). It maps GStreamer onto a plain C++
// fiancee::FramePipeline and nothing else:
//   properties  -> fiancee::RouteSettings, copied per frame; `threads` ->
//                  fiancee::runtime::set_threads at start
//   start       -> FramePipeline built by create_pipeline(); its
//                  fiancee::PipelineInfo (exits, scale factors, metric, ...)
//                  validates the settings and fills `stats`
//   buffers     -> fiancee::ImageView (real strides) -> FramePipeline::process
//   reports     -> FianceeFrameMeta on every output buffer, `stats`,
//                  "fiancee-summary" element messages, warnings as
//                  fiancee::WarningLimiter admits them
//   QoS events  -> RouteSettings::late (degrade quality, never drop)
//   LATENCY     -> upstream latency + fiancee::LatencyEstimator's estimate of
//                  a backbone frame
//   exceptions  -> fiancee::describe_error -> one GST_ELEMENT_ERROR per phase
//                  (start, frame); they never escape
//
// A subclass sets its pad templates / caps (and transform_caps when the output
// differs from the input), adds its own properties and implements
// create_pipeline(). No LibTorch here: the pipeline headers are torch-free.
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

#include <memory>
#include <string>

#include "core/element_error.h"
#include "pipelines/frame_pipeline.h"

G_BEGIN_DECLS

#define GST_TYPE_FIANCEE_FILTER (gst_fiancee_filter_get_type())
G_DECLARE_DERIVABLE_TYPE(GstFianceeFilter, gst_fiancee_filter, GST, FIANCEE_FILTER, GstVideoFilter)

#define GST_TYPE_FIANCEE_DEVICE (gst_fiancee_device_get_type())
GType gst_fiancee_device_get_type(void);

#define GST_TYPE_FIANCEE_PRECISION (gst_fiancee_precision_get_type())
GType gst_fiancee_precision_get_type(void);

G_END_DECLS

// What create_pipeline() gets from the base class's properties (a snapshot
// taken under the settings lock when the element starts).
struct GstFianceeLoadSettings {
  std::string model_location;     // package directory; exists (checked by the base)
  std::string database_location;  // empty = the package's guide database
  fiancee::Device device = fiancee::Device::Auto;
  fiancee::EngineSharing sharing;  // shared-engine, batch-window
  fiancee::Precision precision = fiancee::Precision::Fp32;
};

struct _GstFianceeFilterClass {
  GstVideoFilterClass parent_class;

  // Builds the pipeline (called from `start`, i.e. READY -> PAUSED). May
  // throw fiancee::Error (or any std::exception; fiancee::NotFoundError for an
  // input file that does not exist): the base turns it into a
  // GST_ELEMENT_ERROR and fails the state change. Must not return nullptr.
  std::unique_ptr<fiancee::FramePipeline> (*create_pipeline)(GstFianceeFilter* filter,
                                                             const GstFianceeLoadSettings& settings);

  gpointer _padding[8];
};

// Helpers for subclasses.
// The model-location currently set (a copy; "" when unset).
std::string gst_fiancee_filter_get_model_location(GstFianceeFilter* filter);
