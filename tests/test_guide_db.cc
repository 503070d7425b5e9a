#include "core/guide_db.h"

#include "core/errors.h"
#include "core/hash.h"
#include "core/safetensors.h"
#include "tests/fixtures.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace fiancee {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::vector<int64_t> brute_nearest(const torch::Tensor& q, const torch::Tensor& keys) {
  torch::Tensor idx = torch::cdist(q, keys).argmin(1);
  return {idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel()};
}

// Message of the PackageError that `f` throws; fails the test if it throws nothing else.
template <typename F>
std::string package_error(F f) {
  try {
    f();
  } catch (const PackageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no PackageError";
  return {};
}

struct Data {
  torch::Tensor keys, values, labels;
};

Data random_data(int64_t n, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({n, d}), torch::rand({n, 3, 4, 4}), torch::Tensor()};
}

TEST(GuideDb, ExactLookupMatchesBruteForce) {
  Data data = random_data(2000, 16, 1);
  GuideDatabase db(data.keys, data.values);
  EXPECT_TRUE(db.exact());
  EXPECT_EQ(db.size(), 2000);
  EXPECT_EQ(db.key_dim(), 16);
  EXPECT_EQ(db.value_shape(), (std::vector<int64_t>{3, 4, 4}));

  torch::Tensor q = torch::randn({300, 16});
  GuideLookup r = db.lookup(q.to(torch::kDouble));  // any dtype is accepted
  ASSERT_EQ(r.ids.size(), 300u);
  EXPECT_GE(r.ms, 0);
  ASSERT_EQ(r.values.sizes(), (std::vector<int64_t>{300, 3, 4, 4}));
  const torch::Tensor dist = torch::cdist(q, data.keys);
  const std::vector<int64_t> truth = brute_nearest(q, data.keys);
  for (int64_t i = 0; i < 300; ++i) {
    ASSERT_GE(r.ids[i], 0);
    // BLAS distances may break a near-tie differently from cdist; compare distances.
    EXPECT_NEAR(dist[i][r.ids[i]].item<float>(), dist[i][truth[i]].item<float>(), 1e-4) << i;
    EXPECT_TRUE(torch::equal(r.values[i], data.values[r.ids[i]]));
  }
}

TEST(GuideDb, ExactLookupOfKeysFindsThemselves) {
  Data data = random_data(500, 8, 2);
  GuideDatabase db(data.keys, data.values);
  GuideLookup r = db.lookup(data.keys.slice(0, 0, 10));
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(r.ids[i], i);
}

TEST(GuideDb, SaveLoadRoundTripGivesIdenticalLookups) {
  TempDir dir;
  Data data = random_data(1000, 12, 3);
  GuideDatabase db(data.keys, data.values);
  EXPECT_EQ(db.save(dir.path(), "guide"), (std::vector<std::string>{"guide.safetensors"}));
  GuideDatabase loaded = GuideDatabase::load(dir.path(), "guide");
  EXPECT_TRUE(loaded.exact());
  EXPECT_EQ(loaded.size(), 1000);
  torch::Tensor q = torch::randn({100, 12});
  GuideLookup a = db.lookup(q), b = loaded.lookup(q);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_TRUE(torch::equal(a.values, b.values));
}

Data labelled_data(uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t n = 1200;
  return {torch::randn({n, 6}), torch::arange(n).to(torch::kFloat).reshape({n, 1}),
          torch::randint(0, 4, {n}, torch::kLong)};
}

TEST(GuideDb, PerClassSearchStaysInClass) {
  Data data = labelled_data(4);
  GuideDatabase db(data.keys, data.values, data.labels);
  torch::Tensor q = torch::randn({400, 6});
  torch::Tensor ql = torch::randint(0, 4, {400}, torch::kInt);  // any integer dtype
  GuideLookup r = db.lookup(q, ql);
  for (int64_t i = 0; i < 400; ++i) {
    const int64_t c = ql[i].item<int64_t>();
    ASSERT_GE(r.ids[i], 0);
    ASSERT_EQ(data.labels[r.ids[i]].item<int64_t>(), c) << i;
    // The true nearest within the class.
    const torch::Tensor rows = (data.labels == c).nonzero().flatten();
    const torch::Tensor dist = torch::cdist(q[i].unsqueeze(0), data.keys.index_select(0, rows))[0];
    EXPECT_NEAR((q[i] - data.keys[r.ids[i]]).norm().item<float>(), dist.min().item<float>(), 1e-4);
    EXPECT_EQ(r.values[i][0].item<float>(), float(r.ids[i]));
  }
}

TEST(GuideDb, UnseenClassGivesNoKeyAndZeroValue) {
  Data data = labelled_data(5);
  data.values += 1;  // so that a zero value can only mean "none"
  GuideDatabase db(data.keys, data.values, data.labels);
  GuideLookup r = db.lookup(torch::randn({3, 6}), torch::tensor({1, 9, -2}, torch::kLong));
  EXPECT_GE(r.ids[0], 0);
  EXPECT_EQ(r.ids[1], -1);
  EXPECT_EQ(r.ids[2], -1);
  EXPECT_EQ(r.values[1].abs().sum().item<float>(), 0);
  EXPECT_EQ(r.values[2].abs().sum().item<float>(), 0);
  EXPECT_GT(r.values[0].item<float>(), 0);
}

TEST(GuideDb, LabelledRoundTrip) {
  TempDir dir;
  Data data = labelled_data(6);
  GuideDatabase db(data.keys, data.values, data.labels);
  db.save(dir.path(), "patches");
  GuideDatabase loaded = GuideDatabase::load(dir.path(), "patches");
  torch::Tensor q = torch::randn({50, 6});
  torch::Tensor ql = torch::randint(0, 5, {50}, torch::kLong);
  GuideLookup a = db.lookup(q, ql), b = loaded.lookup(q, ql);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_TRUE(torch::equal(a.values, b.values));
}

TEST(GuideDb, ConcurrentLookupsAgree) {
  Data data = random_data(3000, 8, 7);
  GuideDatabase db(data.keys, data.values);
  torch::Tensor q = torch::randn({200, 8});
  const std::vector<int64_t> expected = db.lookup(q).ids;
  std::vector<std::vector<int64_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) got[t] = db.lookup(q).ids;
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
}

// Large enough for the approximate index, small in dimension so it is fast.
constexpr int64_t kBigN = GuideDatabase::kExactLimit + 10000;

double recall_at_1(const GuideDatabase& db, const torch::Tensor& keys, const torch::Tensor& q) {
  const std::vector<int64_t> truth = brute_nearest(q, keys);
  const std::vector<int64_t> got = db.lookup(q).ids;
  int64_t hits = 0;
  for (size_t i = 0; i < got.size(); ++i) hits += got[i] == truth[i];
  return double(hits) / got.size();
}

TEST(GuideDb, ApproximateIndexAboveLimitHasHighRecall) {
  Data data = random_data(kBigN, 8, 8);
  GuideDatabase db(data.keys, data.values);
  EXPECT_FALSE(db.exact());
  const torch::Tensor held_out = torch::randn({1000, 8});
  const double recall = recall_at_1(db, data.keys, held_out);
  std::cout << "[          ] IVF recall@1 on " << kBigN << " keys, D=8: " << recall << "\n";
  RecordProperty("recall_at_1", std::to_string(recall));
  EXPECT_GT(recall, 0.9);

  GuideDatabase exact(data.keys, data.values, {}, /*force_exact=*/true);
  EXPECT_TRUE(exact.exact());
  EXPECT_EQ(recall_at_1(exact, data.keys, held_out), 1.0);
}

TEST(GuideDb, ApproximateRoundTripReadsTheIndex) {
  TempDir dir;
  Data data = random_data(kBigN, 8, 9);
  GuideDatabase db(data.keys, data.values);
  EXPECT_EQ(db.save(dir.path(), "big"), (std::vector<std::string>{"big.safetensors", "big.faiss"}));
  GuideDatabase loaded = GuideDatabase::load(dir.path(), "big");
  EXPECT_FALSE(loaded.exact());
  const torch::Tensor q = torch::randn({500, 8});
  EXPECT_EQ(db.lookup(q).ids, loaded.lookup(q).ids);
}

TEST(GuideDb, ApproximateOnlyForTheBigClass) {
  TempDir dir;
  torch::manual_seed(10);
  const int64_t small = 50;
  torch::Tensor keys = torch::randn({kBigN + small, 8});
  torch::Tensor labels = torch::cat({torch::full({kBigN}, 7, torch::kLong), torch::full({small}, 2, torch::kLong)});
  torch::Tensor values = torch::arange(kBigN + small);
  GuideDatabase db(keys, values, labels);
  EXPECT_FALSE(db.exact());
  EXPECT_EQ(db.save(dir.path(), "cls"), (std::vector<std::string>{"cls.safetensors", "cls.7.faiss"}));
  GuideDatabase loaded = GuideDatabase::load(dir.path(), "cls");
  const torch::Tensor q = torch::randn({200, 8});
  const torch::Tensor ql = torch::randint(0, 2, {200}, torch::kLong) * 5 + 2;  // classes 2 and 7
  GuideLookup a = db.lookup(q, ql), b = loaded.lookup(q, ql);
  EXPECT_EQ(a.ids, b.ids);
  for (int64_t i = 0; i < 200; ++i) EXPECT_EQ(labels[a.ids[i]].item<int64_t>(), ql[i].item<int64_t>());
}

TEST(GuideDb, ForceExactRoundTripWritesNoIndex) {
  TempDir dir;
  Data data = random_data(kBigN, 4, 11);
  GuideDatabase db(data.keys, data.values, {}, /*force_exact=*/true);
  EXPECT_EQ(db.save(dir.path(), "fx"), (std::vector<std::string>{"fx.safetensors"}));
  EXPECT_TRUE(GuideDatabase::load(dir.path(), "fx").exact());
}

TEST(GuideDb, MissingFilesNameTheFile) {
  TempDir dir;
  EXPECT_THAT(package_error([&] { GuideDatabase::load(dir.path(), "nope"); }), HasSubstr("nope.safetensors"));

  Data data = random_data(kBigN, 4, 12);
  GuideDatabase(data.keys, data.values).save(dir.path(), "big");
  std::filesystem::remove(dir.file("big.faiss"));
  EXPECT_THAT(package_error([&] { GuideDatabase::load(dir.path(), "big"); }), HasSubstr("big.faiss"));
}

TEST(GuideDb, CorruptFilesNameTheFile) {
  TempDir dir;
  std::ofstream(dir.file("junk.safetensors")) << "this is not a safetensors file";
  EXPECT_THAT(package_error([&] { GuideDatabase::load(dir.path(), "junk"); }), HasSubstr("junk.safetensors"));

  Data data = random_data(kBigN, 4, 13);
  GuideDatabase(data.keys, data.values).save(dir.path(), "big");
  std::ofstream(dir.file("big.faiss"), std::ios::trunc) << "garbage";
  EXPECT_THAT(package_error([&] { GuideDatabase::load(dir.path(), "big"); }), HasSubstr("big.faiss"));
}

TEST(GuideDb, IndexOfOtherKeysIsRejected) {
  TempDir dir;
  Data a = random_data(kBigN, 4, 14), b = random_data(kBigN, 4, 15), c = random_data(kBigN + 1, 4, 16);
  GuideDatabase(a.keys, a.values).save(dir.path(), "a");
  GuideDatabase(b.keys, b.values).save(dir.path(), "b");
  GuideDatabase(c.keys, c.values).save(dir.path(), "c");
  // Same size, different keys.
  std::filesystem::copy_file(dir.file("b.faiss"), dir.file("a.faiss"),
                             std::filesystem::copy_options::overwrite_existing);
  std::string msg = package_error([&] { GuideDatabase::load(dir.path(), "a"); });
  EXPECT_THAT(msg, HasSubstr("a.faiss"));
  EXPECT_THAT(msg, HasSubstr("does not match"));
  // Different size.
  std::filesystem::copy_file(dir.file("c.faiss"), dir.file("b.faiss"),
                             std::filesystem::copy_options::overwrite_existing);
  msg = package_error([&] { GuideDatabase::load(dir.path(), "b"); });
  EXPECT_THAT(msg, HasSubstr("b.faiss"));
  EXPECT_THAT(msg, HasSubstr(std::to_string(kBigN + 1)));
}

void write_guide(const std::string& path, const safetensors::TensorMap& t, const std::string& exact = "true") {
  safetensors::save(path, t, {{"format", "fiancee-guide-db"}, {"version", "1"}, {"exact", exact}});
}

TEST(GuideDb, InconsistentTensorsNameTheFile) {
  TempDir dir;
  const std::string p = dir.file("bad.safetensors");
  auto expect_error = [&](const safetensors::TensorMap& t, const std::string& what) {
    write_guide(p, t);
    const std::string msg = package_error([&] { GuideDatabase::load(dir.path(), "bad"); });
    EXPECT_THAT(msg, HasSubstr("bad.safetensors"));
    EXPECT_THAT(msg, HasSubstr(what));
  };
  expect_error({{"keys", torch::rand({5, 4})}, {"values", torch::rand({6, 2})}}, "values");
  expect_error({{"keys", torch::rand({5})}, {"values", torch::rand({5, 2})}}, "keys");
  expect_error({{"keys", torch::rand({5, 4}).to(torch::kDouble)}, {"values", torch::rand({5, 2})}}, "keys");
  expect_error({{"values", torch::rand({5, 2})}}, "keys");
  expect_error({{"keys", torch::rand({5, 4})}, {"values", torch::rand({5, 2})}, {"labels", torch::zeros({4}, torch::kLong)}},
               "labels");
  expect_error({{"keys", torch::rand({5, 4})}, {"values", torch::rand({5, 2})}, {"labels", torch::zeros({5})}},
               "labels");

  safetensors::save(p, {{"keys", torch::rand({5, 4})}, {"values", torch::rand({5, 2})}});  // no metadata
  EXPECT_THAT(package_error([&] { GuideDatabase::load(dir.path(), "bad"); }), HasSubstr("bad.safetensors"));
}

TEST(GuideDb, ConstructorRejectsBadInputs) {
  EXPECT_THROW(GuideDatabase(torch::rand({5}), torch::rand({5})), InputError);
  EXPECT_THROW(GuideDatabase(torch::rand({5, 4}), torch::rand({4, 2})), InputError);
  EXPECT_THROW(GuideDatabase(torch::rand({5, 4}), torch::rand({5, 2}), torch::zeros({5})), InputError);
  EXPECT_THROW(GuideDatabase(torch::full({2, 2}, NAN), torch::rand({2, 2})), InputError);
}

TEST(GuideDb, BadQueriesGiveInputError) {
  Data data = random_data(100, 8, 17);
  GuideDatabase db(data.keys, data.values);
  try {
    db.lookup(torch::rand({3, 7}));
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("[Q, 8]"));
    EXPECT_THAT(e.what(), HasSubstr("[3, 7]"));
  }
  EXPECT_THROW(db.lookup(torch::rand({8})), InputError);
  torch::Tensor q = torch::rand({2, 8});
  q[1][3] = NAN;
  EXPECT_THROW(db.lookup(q), InputError);
  q[1][3] = INFINITY;
  EXPECT_THROW(db.lookup(q), InputError);
  EXPECT_THROW(db.lookup(torch::rand({2, 8}), torch::zeros({2}, torch::kLong)), InputError);  // no classes here

  Data labelled = labelled_data(18);
  GuideDatabase cdb(labelled.keys, labelled.values, labelled.labels);
  EXPECT_THROW(cdb.lookup(torch::rand({2, 6})), InputError);
  EXPECT_THROW(cdb.lookup(torch::rand({2, 6}), torch::zeros({3}, torch::kLong)), InputError);
  EXPECT_EQ(cdb.lookup(torch::rand({0, 6}), torch::zeros({0}, torch::kLong)).values.size(0), 0);
}

TEST(Fps, ReturnsDistinctIndicesStartingAtZero) {
  torch::manual_seed(19);
  torch::Tensor p = torch::randn({500, 5});
  std::vector<int64_t> idx = farthest_point_sample(p, 40);
  ASSERT_EQ(idx.size(), 40u);
  EXPECT_EQ(idx[0], 0);
  EXPECT_EQ(std::set<int64_t>(idx.begin(), idx.end()).size(), 40u);
  EXPECT_EQ(farthest_point_sample(p, 40), idx);  // deterministic
}

TEST(Fps, SecondPickIsTheFarthestFromTheFirst) {
  torch::manual_seed(20);
  torch::Tensor p = torch::randn({300, 3});
  const int64_t far = (p - p[0]).norm(2, 1).argmax().item<int64_t>();
  EXPECT_EQ(farthest_point_sample(p, 2)[1], far);
}

TEST(Fps, OnePerWellSeparatedCluster) {
  torch::manual_seed(21);
  const torch::Tensor centers = torch::tensor({0.f, 0.f, 100.f, 0.f, 0.f, 100.f, 100.f, 100.f}).reshape({4, 2});
  // Shuffled so that cluster membership does not follow the row order.
  const torch::Tensor member = torch::randint(0, 4, {400}, torch::kLong);
  const torch::Tensor p = centers.index_select(0, member) + torch::randn({400, 2});
  std::set<int64_t> clusters;
  for (int64_t i : farthest_point_sample(p, 4)) clusters.insert(member[i].item<int64_t>());
  EXPECT_EQ(clusters.size(), 4u);
}

TEST(Fps, DuplicatesStillGiveDistinctIndices) {
  torch::Tensor p = torch::zeros({10, 3});
  std::vector<int64_t> idx = farthest_point_sample(p, 6);
  EXPECT_EQ(std::set<int64_t>(idx.begin(), idx.end()).size(), 6u);
}

TEST(Fps, EdgeCases) {
  torch::Tensor p = torch::randn({5, 2});
  EXPECT_EQ(farthest_point_sample(p, 9), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(farthest_point_sample(p, 0).empty());
  EXPECT_THROW(farthest_point_sample(torch::randn({5}), 2), InputError);
}

TEST(GuideDb, SaveListsTheHashesOfItsFiles) {
  TempDir dir;
  Data data = random_data(kBigN, 4, 17);
  const auto written = GuideDatabase(data.keys, data.values).save(dir.path(), "big");
  std::ifstream in(dir.file(GuideDatabase::sidecar_name("big")));
  std::string hash, name;
  std::vector<std::string> listed;
  while (in >> hash >> name) {
    EXPECT_EQ(hash, fiancee::sha256_file(dir.file(name))) << name;
    listed.push_back(name);
  }
  EXPECT_EQ(listed, written);
}

// Package::guide_database refuses files it has no hash for through this check,
// before FAISS's reader (unsafe on crafted files) sees them.
TEST(GuideDb, LoadChecksEveryFileBeforeReadingIt) {
  TempDir dir;
  Data data = random_data(kBigN, 4, 18);
  GuideDatabase(data.keys, data.values).save(dir.path(), "big");
  std::vector<std::string> asked;
  GuideDatabase::load(dir.path(), "big", [&](const std::string& name) { asked.push_back(name); });
  EXPECT_EQ(asked, (std::vector<std::string>{"big.safetensors", "big.faiss"}));
  std::ofstream(dir.file("big.faiss"), std::ios::trunc) << "crafted";
  EXPECT_THAT(package_error([&] {
                GuideDatabase::load(dir.path(), "big", [&](const std::string& name) {
                  if (name == "big.faiss") throw PackageError(dir.file(name) + ": not listed");
                });
              }),
              HasSubstr("big.faiss: not listed"));
}

}  // namespace
}  // namespace fiancee
