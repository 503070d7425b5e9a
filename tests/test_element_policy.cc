// The element's policies in plain C++, without GStreamer: the latency
// estimate, warning de-duplication, exception -> error translation, the
// stats-location CSV writer, and the defaults the element shares with the engine.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/defaults.h"
#include "core/element_error.h"
#include "core/frame_log.h"
#include "core/frame_report.h"
#include "core/latency_estimator.h"
#include "core/manifest.h"
#include "core/warning_limiter.h"
#include "pipelines/frame_pipeline.h"
#include "pipelines/reenact.h"
#include "tests/fixtures.h"

using fiancee::ElementError;
using fiancee::ErrorCode;
using fiancee::ErrorDomain;
using fiancee::ErrorPhase;
using fiancee::FrameReport;
using fiancee::LatencyEstimator;
using fiancee::WarningLimiter;

namespace {

constexpr uint64_t kMs = 1000000;  // ns

// A frame on exit `gflops` of a 4-GFLOP backbone that took `ms`.
FrameReport frame(double ms, double gflops = 4.0, bool passthrough = false) {
  FrameReport r;
  r.total_ms = ms;
  r.gflops = gflops;
  r.backbone_gflops = 4.0;
  r.passthrough = passthrough;
  return r;
}

template <typename E>
ElementError describe(const E& e, ErrorPhase phase) {
  fiancee::ErrorContext x;
  x.model_location = "/pkg";
  x.database_location = "/db";
  x.device = "cuda";
  x.stats_location = "/out/stats.csv";
  x.frame = 7;
  x.width = 96;
  x.height = 80;
  return fiancee::describe_error(std::make_exception_ptr(e), phase, x);
}

}  // namespace

// ------------------------------------------------------------------ latency

TEST(LatencyEstimator, ZeroUntilTheFirstFrameThenAnnouncesIt) {
  LatencyEstimator l;
  EXPECT_EQ(l.estimate_ns(), 0u);
  EXPECT_EQ(l.announce(), 0u);
  EXPECT_TRUE(l.push(frame(10)));
  EXPECT_EQ(l.estimate_ns(), 10 * kMs);
}

TEST(LatencyEstimator, ReannouncesOnlyGrowthBeyondTheFactor) {
  LatencyEstimator l;
  ASSERT_TRUE(l.push(frame(10)));
  EXPECT_FALSE(l.push(frame(11)));  // +10%: the estimate follows, no new announcement
  EXPECT_EQ(l.estimate_ns(), 11 * kMs);
  EXPECT_TRUE(l.push(frame(13)));   // +30% over the announced 10 ms
  EXPECT_FALSE(l.push(frame(15)));  // +15% over the newly announced 13 ms
  EXPECT_EQ(l.estimate_ns(), 15 * kMs);
}

TEST(LatencyEstimator, CheapExitsCountAsTheBackboneWouldHaveTaken) {
  LatencyEstimator l;
  ASSERT_TRUE(l.push(frame(11)));
  EXPECT_TRUE(l.push(frame(5, 1.0)));  // 1 of 4 GFLOPs in 5 ms: a 20 ms backbone frame
  EXPECT_EQ(l.estimate_ns(), 20 * kMs);
}

TEST(LatencyEstimator, TimeOutsideTheEngineCountsUnscaled) {
  LatencyEstimator l;
  auto f = frame(5, 1.0);  // a 20 ms backbone frame's network
  f.frame_ms = 12;         // 7 ms of front end and framing around it
  ASSERT_TRUE(l.push(f));
  EXPECT_EQ(l.estimate_ns(), 27 * kMs);
}

TEST(LatencyEstimator, IgnoresPassthroughAndNonTimes) {
  LatencyEstimator l;
  ASSERT_TRUE(l.push(frame(20)));
  EXPECT_FALSE(l.push(frame(100, 4.0, /*passthrough=*/true)));
  EXPECT_FALSE(l.push(frame(std::nan(""))));
  EXPECT_FALSE(l.push(frame(-1)));
  EXPECT_EQ(l.estimate_ns(), 20 * kMs);
}

TEST(LatencyEstimator, SlowestFrameOfTheWindowAndAWholeWindowOfShrinkingIsAnnounced) {
  LatencyEstimator l(3);
  ASSERT_TRUE(l.push(frame(30)));  // e.g. the first frame's warm-up
  EXPECT_FALSE(l.push(frame(10)));
  EXPECT_FALSE(l.push(frame(10)));
  EXPECT_EQ(l.estimate_ns(), 30 * kMs);
  EXPECT_TRUE(l.push(frame(10)));  // the 30 ms frame left the window: 10 ms over a whole window
  EXPECT_EQ(l.estimate_ns(), 10 * kMs);
  EXPECT_FALSE(l.push(frame(9)));   // -10%: within the factor
  EXPECT_TRUE(l.push(frame(30)));   // growth over the newly announced 10 ms
}

TEST(LatencyEstimator, AQueryAnswerCountsAsAnnounced) {
  LatencyEstimator l(2);
  ASSERT_TRUE(l.push(frame(10)));
  EXPECT_FALSE(l.push(frame(11)));  // +10%
  EXPECT_EQ(l.announce(), 11 * kMs);
  EXPECT_FALSE(l.push(frame(13)));  // +18% over the 11 ms answered
  EXPECT_TRUE(l.push(frame(14)));
}

TEST(LatencyEstimator, ResetStartsOver) {
  LatencyEstimator l;
  ASSERT_TRUE(l.push(frame(50)));
  l.reset();
  EXPECT_EQ(l.estimate_ns(), 0u);
  EXPECT_TRUE(l.push(frame(10)));  // announced went back to 0 too
  EXPECT_EQ(l.estimate_ns(), 10 * kMs);
}

// ------------------------------------------------------------------ warnings

TEST(WarningLimiter, EachDistinctWarningIsPostedOnce) {
  WarningLimiter w;
  EXPECT_EQ(w.admit("exit 0 produced NaN"), WarningLimiter::Action::Post);
  EXPECT_EQ(w.admit("exit 0 produced NaN"), WarningLimiter::Action::Log);
  EXPECT_EQ(w.admit("exit 1 produced NaN"), WarningLimiter::Action::Post);
  EXPECT_EQ(w.admit("exit 0 produced NaN"), WarningLimiter::Action::Log);
}

TEST(WarningLimiter, CapsDistinctWarningsWithOneNotice) {
  WarningLimiter w;
  ASSERT_EQ(w.max_distinct(), 32u);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(w.admit("w" + std::to_string(i)), WarningLimiter::Action::Post) << i;
  EXPECT_EQ(w.admit("w32"), WarningLimiter::Action::PostSuppressed);
  EXPECT_EQ(w.admit("w32"), WarningLimiter::Action::Log);  // the notice covered it; never posted later
  EXPECT_EQ(w.admit("w33"), WarningLimiter::Action::Log);
  EXPECT_EQ(w.admit("w0"), WarningLimiter::Action::Log);
}

TEST(WarningLimiter, ResetPostsAgain) {
  WarningLimiter w(1);
  EXPECT_EQ(w.admit("a"), WarningLimiter::Action::Post);
  EXPECT_EQ(w.admit("b"), WarningLimiter::Action::PostSuppressed);
  w.reset();
  EXPECT_EQ(w.admit("b"), WarningLimiter::Action::Post);
  EXPECT_EQ(w.admit("a"), WarningLimiter::Action::PostSuppressed);
}

// ------------------------------------------------------------------ errors

TEST(ElementError, LoadFailures) {
  auto e = describe(fiancee::NotFoundError("Source image '/me.png' (source-location) not found."), ErrorPhase::Load);
  EXPECT_EQ(e.domain, ErrorDomain::Resource);
  EXPECT_EQ(e.code, ErrorCode::NotFound);
  EXPECT_EQ(e.message, "Source image '/me.png' (source-location) not found.");
  EXPECT_EQ(e.debug, "model-location=/pkg");

  e = describe(fiancee::PackageError("/pkg/manifest.json: field 'name' is missing"), ErrorPhase::Load);
  EXPECT_EQ(e.domain, ErrorDomain::Resource);
  EXPECT_EQ(e.code, ErrorCode::Settings);
  EXPECT_EQ(e.message, "Cannot load model package '/pkg': /pkg/manifest.json: field 'name' is missing");
  EXPECT_EQ(e.debug, "model-location=/pkg database-location=/db");

  e = describe(fiancee::UnavailableError("no CUDA"), ErrorPhase::Load);
  EXPECT_EQ(e.code, ErrorCode::Settings);
  EXPECT_EQ(e.message, "Cannot run model package '/pkg' here: no CUDA");
  EXPECT_EQ(e.debug, "device=cuda");

  e = describe(fiancee::InputError("No source image given"), ErrorPhase::Load);
  EXPECT_EQ(e.code, ErrorCode::Settings);
  EXPECT_EQ(e.message, "No source image given");
  EXPECT_EQ(e.debug, "model-location=/pkg");

  e = describe(fiancee::Error("the pipeline factory returned nothing"), ErrorPhase::Load);
  EXPECT_EQ(e.code, ErrorCode::Settings);
  EXPECT_EQ(e.message, "Cannot start with model package '/pkg': the pipeline factory returned nothing");
  EXPECT_EQ(e.debug, "");

  e = describe(std::runtime_error("bad_alloc"), ErrorPhase::Load);
  EXPECT_EQ(e.domain, ErrorDomain::Resource);
  EXPECT_EQ(e.code, ErrorCode::Failed);
  EXPECT_EQ(e.message, "Failed to load model package '/pkg': bad_alloc");

  e = describe(42, ErrorPhase::Load);
  EXPECT_EQ(e.code, ErrorCode::Failed);
  EXPECT_EQ(e.message, "Failed to load model package '/pkg' (unknown exception).");
}

TEST(ElementError, StatsFileFailures) {
  auto e = describe(fiancee::InputError("stats-location '/out/stats.csv': cannot open for writing"),
                    ErrorPhase::OpenStats);
  EXPECT_EQ(e.domain, ErrorDomain::Resource);
  EXPECT_EQ(e.code, ErrorCode::OpenWrite);
  EXPECT_EQ(e.message, "stats-location '/out/stats.csv': cannot open for writing");
  EXPECT_EQ(e.debug, "");

  e = describe(42, ErrorPhase::OpenStats);
  EXPECT_EQ(e.code, ErrorCode::OpenWrite);
  EXPECT_EQ(e.message, "Cannot write stats-location '/out/stats.csv' (unknown exception).");
}

TEST(ElementError, FrameFailures) {
  auto e = describe(fiancee::NonFiniteError("backbone output has NaN"), ErrorPhase::Frame);
  EXPECT_EQ(e.domain, ErrorDomain::Stream);
  EXPECT_EQ(e.code, ErrorCode::Failed);
  EXPECT_EQ(e.message, "Model package '/pkg' produced NaN/Inf values: backbone output has NaN");
  EXPECT_EQ(e.debug, "frame 7, model-location=/pkg");

  e = describe(fiancee::InputError("label maps must be single-channel"), ErrorPhase::Frame);
  EXPECT_EQ(e.domain, ErrorDomain::Stream);
  EXPECT_EQ(e.code, ErrorCode::Format);
  EXPECT_EQ(e.message, "Cannot process frame 7: label maps must be single-channel");
  EXPECT_EQ(e.debug, "model-location=/pkg, frame 96x80");

  // Load-time categories mean nothing special mid-stream.
  e = describe(fiancee::PackageError("weights"), ErrorPhase::Frame);
  EXPECT_EQ(e.domain, ErrorDomain::Stream);
  EXPECT_EQ(e.code, ErrorCode::Failed);
  EXPECT_EQ(e.message, "Model package '/pkg' failed on frame 7: weights");
  EXPECT_EQ(e.debug, "");

  e = describe(42, ErrorPhase::Frame);
  EXPECT_EQ(e.code, ErrorCode::Failed);
  EXPECT_EQ(e.message, "Model package '/pkg' failed on frame 7 (unknown exception)");
}

TEST(ElementError, RecordFailures) {
  auto e = describe(std::bad_alloc(), ErrorPhase::Record);
  EXPECT_EQ(e.domain, ErrorDomain::Core);
  EXPECT_EQ(e.code, ErrorCode::Failed);
  EXPECT_EQ(e.message, std::string("Failed to record the report of frame 7: ") + std::bad_alloc().what());
  EXPECT_EQ(e.debug, "");

  e = describe(42, ErrorPhase::Record);
  EXPECT_EQ(e.message, "Failed to record the report of frame 7 (unknown exception).");
}

// ------------------------------------------------------------------ stats-location CSV

TEST(FrameLog, OneLinePerFramePassthroughIsExitMinusOne) {
  fiancee::testing::TempDir dir;
  const std::string path = dir.file("frames.csv");
  fiancee::FrameLog log(path, 2);
  FrameReport rendered = frame(3.0, 1.0);
  rendered.exit = 0;
  rendered.num_exits = 2;
  rendered.scale_factor = "1/2";
  rendered.predicted = {0.25, 0};
  FrameReport passed;  // what a pipeline reports for a frame it copied
  passed.num_exits = 2;
  passed.passthrough = true;
  log.write(0, 0, rendered);
  log.write(1, -1, passed);
  log.close();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(),
            "frame,pts_ns,exit,forced,late,fell_back,passthrough,scale_factor,gflops,backbone_gflops,ms,measured_quality,"
            "frame_ms,routed_threshold,held,budget_limited,over_budget,predicted_exit0,predicted_exit1\n"
            "0,0,0,0,0,0,0,1/2,1,4,3,,0,0,0,0,0,0.25,0\n"
            "1,-1,-1,0,0,0,1,,0,0,0,,0,0,0,0,0,,\n");
}

TEST(FrameLog, UnopenableFileNamesItAndTheReason) {
  try {
    fiancee::FrameLog log("/nonexistent-dir/frames.csv", 2);
    FAIL() << "no error for a file in a missing directory";
  } catch (const fiancee::FrameLogError& e) {
    EXPECT_EQ(std::string(e.what()), std::string("stats-location '/nonexistent-dir/frames.csv': cannot open for writing: ") +
                                         std::strerror(ENOENT));
  }
}

#define REQUIRE_DEV_FULL() \
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full"

// Lines are buffered: a full disk shows once the buffer is flushed, mid-run or at close.
TEST(FrameLog, FullDiskDuringTheRunThrowsOnceNamingTheFileAndTheOsError) {
  REQUIRE_DEV_FULL();
  fiancee::FrameLog log("/dev/full", 4);
  int failures = 0;
  std::string message;
  for (uint64_t i = 0; i < 5000; ++i) {
    try {
      log.write(i, static_cast<int64_t>(i), frame(1.0));
    } catch (const fiancee::FrameLogError& e) {
      ++failures;
      message = e.what();
    }
  }
  EXPECT_EQ(failures, 1) << "the log should report one failure, then stay quiet";
  EXPECT_EQ(message, std::string("stats-location '/dev/full': write failed: ") + std::strerror(ENOSPC));
  EXPECT_NO_THROW(log.close());  // already reported
}

TEST(FrameLog, FullDiskAtCloseIsReported) {
  REQUIRE_DEV_FULL();
  fiancee::FrameLog log("/dev/full", 4);
  log.write(0, 0, frame(1.0));  // fits in the buffer
  try {
    log.close();
    FAIL() << "the lost lines of a short run went unreported";
  } catch (const fiancee::FrameLogError& e) {
    EXPECT_EQ(std::string(e.what()), std::string("stats-location '/dev/full': writing the last lines failed: ") +
                                         std::strerror(ENOSPC));
  }
  EXPECT_NO_THROW(log.close());
}

// ------------------------------------------------------------------ defaults

TEST(Defaults, OneQualityThresholdEverywhere) {
  EXPECT_DOUBLE_EQ(fiancee::defaults::kQualityThreshold, 0.1);
  EXPECT_EQ(fiancee::RouteSettings().quality_threshold, fiancee::defaults::kQualityThreshold);
  EXPECT_EQ(fiancee::PipelineInfo().default_threshold, fiancee::defaults::kQualityThreshold);
  EXPECT_EQ(fiancee::Manifest().default_threshold, fiancee::defaults::kQualityThreshold);
  fiancee::Manifest m;
  m.default_threshold = 0.3;
  m.use_ms_ssim_distance();
  EXPECT_EQ(m.default_threshold, fiancee::defaults::kQualityThreshold);
}

TEST(Defaults, RouteAndFaceFrontEnd) {
  EXPECT_EQ(fiancee::RouteSettings().forced_exit, fiancee::defaults::kPredictedRoute);
  const fiancee::ReenactOptions o;
  EXPECT_EQ(o.face_hold_frames, fiancee::defaults::kFaceHoldFrames);
  EXPECT_EQ(o.face_redetect_interval, fiancee::defaults::kFaceRedetectInterval);
}
