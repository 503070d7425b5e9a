// Defaults that the element, the engine and the training tools share, named
// once so they cannot drift apart. Plain C++ (no LibTorch, no GLib): every
// layer includes it.
#pragma once

namespace fiancee::defaults {

// The recommended quality threshold in the packages our tools write (1 -
// MS-SSIM to the backbone), and what the element and the router use until a
// package or the application says otherwise.
inline constexpr double kQualityThreshold = 0.1;
// The largest threshold the element's `quality-threshold` accepts; a package's
// default_threshold must lie in [0, kMaxQualityThreshold] too.
inline constexpr double kMaxQualityThreshold = 1000.0;

// RouteSettings::forced_exit and the element's `exit`: no forced exit, the
// predictor picks the route per frame.
inline constexpr int kPredictedRoute = -1;

// Reenactment face front end: frames a lost face's last pose is held, and the
// face detector's interval (1 = every frame).
inline constexpr int kFaceHoldFrames = 12;
inline constexpr int kFaceRedetectInterval = 1;

// Shared engine: how long a stream's frame may wait for the other streams'
// frames to fill a batch (ms). Streams that started together stay in step
// after the first batch, so a few ms suffice; a live 30 fps frame has 33.
inline constexpr double kBatchWindowMs = 5.0;
inline constexpr double kMaxBatchWindowMs = 1000.0;

}  // namespace fiancee::defaults
