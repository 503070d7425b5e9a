#include <gtest/gtest.h>

#include "core/errors.h"
#include "core/scale_factor.h"

using fiancee::ScaleFactor;

TEST(ScaleFactor, ParsesPaperNotation) {
  EXPECT_EQ(ScaleFactor::parse("1/8").denominator, 8);
  EXPECT_EQ(ScaleFactor::parse("1/15").str(), "1/15");
  EXPECT_EQ(ScaleFactor::parse("1").str(), "1");
  for (const char* bad : {"", "1/0", "0/3", "3/2", "1/", "/8", "0.125", "1/8x", "-1/8"})
    EXPECT_THROW(ScaleFactor::parse(bad), fiancee::InputError) << bad;
}

TEST(ScaleFactor, ReproducesTableS9Widths) {
  // FIANCEE Table S9, minimum 24 channels.
  EXPECT_EQ(ScaleFactor::parse("1/3").scale(512, 24), 170);
  EXPECT_EQ(ScaleFactor::parse("1/3").scale(256, 24), 85);
  EXPECT_EQ(ScaleFactor::parse("1/3").scale(128, 24), 42);
  EXPECT_EQ(ScaleFactor::parse("1/3").scale(64, 24), 24);
  EXPECT_EQ(ScaleFactor::parse("1/6").scale(512, 24), 85);
  EXPECT_EQ(ScaleFactor::parse("1/8").scale(512, 24), 64);
  EXPECT_EQ(ScaleFactor::parse("1/15").scale(512, 24), 34);
  // The minimum never widens a layer past the original.
  EXPECT_EQ(ScaleFactor::parse("1/2").scale(16, 24), 16);
}
