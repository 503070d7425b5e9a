// fianceereenact: animates a source avatar image with the motion of the
// driver video (FIANCEE early-exit face reenactment). RGB in, RGB out, same size.
#pragma once

#include "plugin/gstfianceefilter.h"

G_BEGIN_DECLS

#define GST_TYPE_FIANCEE_REENACT (gst_fiancee_reenact_get_type())
G_DECLARE_FINAL_TYPE(GstFianceeReenact, gst_fiancee_reenact, GST, FIANCEE_REENACT, GstFianceeFilter)

GST_ELEMENT_REGISTER_DECLARE(fianceereenact);

G_END_DECLS
