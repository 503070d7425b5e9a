// What the one-shot reenactment feeds its refiner: the avatar crop warped to
// the target landmarks plus masks of the target's inner mouth and eyes.
// Shared by the run time and by the training and evaluation tools, so all of
// them compute exactly the same thing.
#pragma once

#include <torch/types.h>

#include <opencv2/core.hpp>

#include "pipelines/face_frontend.h"
#include "pipelines/warp.h"

namespace fiancee::reenact {

// Head pose (3 angles / 45 degrees) + landmark expression features; the
// predictor's key (docs/face-frontend.md).
constexpr int kKeyDim = face::kKeyDim;
// The avatar crop of an RGB8 image: face::crop_transform at size x size
// (area-averaged first when it shrinks a lot), the landmarks moved alongside.
// Returns the transform (image -> crop). The run time's avatar and the
// training pairs are cut by this one function.
cv::Matx23f align_crop(const cv::Mat& rgb, const face::Landmarks& landmarks, int size, cv::Mat& crop,
                       face::Landmarks& crop_landmarks);

// Warped avatar RGB + inner-mouth mask + eye mask.
constexpr int kRefinerInputChannels = 5;

struct Warped {
  cv::Mat image;  // RGB8 crop: the avatar warped to the target
  cv::Mat masks;  // CV_32FC2: warp::part_masks of the target
};

// The avatar crop (RGB8, mesh.size square) warped so that its landmarks land on `target`.
Warped warp_avatar(const cv::Mat& avatar_crop, const warp::Mesh& mesh, const face::Landmarks& target);

// [1,kRefinerInputChannels,R,R] float: RGB in [-1,1], masks in [0,1].
torch::Tensor refiner_input(const Warped& warped);

// RGB8 (R x R) <-> [3,R,R] float in [-1,1].
torch::Tensor rgb8_to_tensor(const cv::Mat& rgb);
cv::Mat tensor_to_rgb8(const torch::Tensor& image);

// The key of an image from its 68 landmarks, as the front end computes it: [kKeyDim].
torch::Tensor key_from_landmarks(const face::Landmarks& landmarks, int width, int height);

}  // namespace fiancee::reenact
