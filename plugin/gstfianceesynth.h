// fianceesynth: renders images from semantic label maps (FIANCEE early-exit
// OASIS / ASAP-Net). GRAY8 class ids in, RGB out, same size.
#pragma once

#include "plugin/gstfianceefilter.h"

G_BEGIN_DECLS

#define GST_TYPE_FIANCEE_SYNTH (gst_fiancee_synth_get_type())
G_DECLARE_FINAL_TYPE(GstFianceeSynth, gst_fiancee_synth, GST, FIANCEE_SYNTH, GstFianceeFilter)

GST_ELEMENT_REGISTER_DECLARE(fianceesynth);

G_END_DECLS
