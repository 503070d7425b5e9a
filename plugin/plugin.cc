// The "fiancee" GStreamer plugin: early-exit generative video elements.
#include <gst/gst.h>

#include "plugin/fianceemeta.h"
#include "plugin/gstfianceefilter.h"
#include "plugin/gstfianceereenact.h"
#include "plugin/gstfianceesynth.h"

#ifndef PACKAGE  // the source module name GST_PLUGIN_DEFINE records
#define PACKAGE "fiancee"
#endif
#ifndef FIANCEE_VERSION
#define FIANCEE_VERSION "0.0.0"
#endif

static gboolean plugin_init(GstPlugin* plugin) {
  fiancee_frame_meta_get_info();
  gst_type_mark_as_plugin_api(GST_TYPE_FIANCEE_FILTER, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_FIANCEE_DEVICE, static_cast<GstPluginAPIFlags>(0));
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(fianceereenact, plugin);
  ok |= GST_ELEMENT_REGISTER(fianceesynth, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, fiancee,
                  "Generative video models with per-frame early exits (FIANCEE)", plugin_init, FIANCEE_VERSION,
                  "LGPL", "fiancee", "https://example.invalid/fiancee")
