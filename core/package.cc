#include "core/package.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/file_access.h"
#include "core/guide_db.h"
#include "core/hash.h"

namespace fiancee {

namespace fs = std::filesystem;

namespace {

// Every file the manifest points at, so none escapes hashing.
std::set<std::string> referenced_files(const Manifest& m) {
  // Empty names: TorchScript packages whose modules carry their own weights.
  std::set<std::string> files;
  if (!m.weights.empty()) files.insert(m.weights);
  for (const auto& sf : m.scale_factors) {
    if (!sf.weights.empty()) files.insert(sf.weights);
    if (!sf.calibration.empty()) files.insert(sf.calibration);
  }
  for (const auto& [role, file] : m.torchscript) files.insert(file);
  if (m.guide_database) files.insert(m.guide_database->prefix + ".safetensors");
  return files;
}

struct HashList {
  std::string origin;                         // the file the hashes came from
  std::map<std::string, std::string> files;  // file name -> SHA-256
};

// The SHA-256 of each file of a database directory given as database-location:
// from its <prefix>.sha256 sidecar (written by GuideDatabase::save), else from
// the manifest.json of the package it sits in (fiancee build-db writes one).
HashList database_hashes(const std::string& dir, const std::string& prefix) {
  const std::string sidecar = dir + "/" + GuideDatabase::sidecar_name(prefix);
  const std::string manifest = dir + "/manifest.json";
  if (fs::exists(sidecar)) {
    std::map<std::string, std::string> hashes;
    std::istringstream lines(read_regular_file(sidecar, FileKind::Package, kMaxJsonBytes));
    std::string line;
    for (int n = 1; std::getline(lines, line); ++n) {
      const auto gap = line.find("  ");
      if (gap != 64 || line.find_first_not_of("0123456789abcdef") < 64 || line.size() < 67)
        throw PackageError(sidecar + ": line " + std::to_string(n) + " is not '<sha256>  <file name>'");
      hashes[line.substr(66)] = line.substr(0, 64);
    }
    return {sidecar, hashes};
  }
  if (fs::exists(manifest))
    return {manifest, Manifest::parse(read_regular_file(manifest, FileKind::Package, kMaxJsonBytes), manifest).files};
  throw PackageError(dir + ": a guide database given as database-location needs its hash list, " +
                     GuideDatabase::sidecar_name(prefix) + " or a manifest.json, and it has neither (make databases with fiancee build-db)");
}

}  // namespace

Package Package::open(const std::string& dir) {
  if (dir.empty()) throw PackageError("model package location is empty: set it to a package directory");
  if (!fs::is_directory(dir))
    throw PackageError(dir + ": " + (fs::exists(dir) ? "is not a directory (a model package is a directory with manifest.json)" : "no such model package directory"));
  Package p;
  p.dir_ = fs::path(dir).lexically_normal().string();
  const std::string manifest_path = p.path("manifest.json");
  require_inside(p.dir_, manifest_path);
  p.manifest_ = Manifest::parse(read_regular_file(manifest_path, FileKind::Package, kMaxJsonBytes), manifest_path);
  for (const auto& file : referenced_files(p.manifest_))
    if (!p.manifest_.files.count(file))
      throw PackageError(manifest_path + ": file '" + file + "' is used but has no hash in 'files'");
  for (const auto& [file, expected] : p.manifest_.files) {
    const std::string path = p.path(file);
    if (!fs::exists(path)) throw PackageError(path + ": listed in the manifest but missing from the package");
    require_inside(p.dir_, path);
    const std::string actual = sha256_file(path);
    if (actual != expected)
      throw PackageError(path + ": SHA-256 is " + actual + " but the manifest says " + expected + " (file changed or corrupt)");
  }
  return p;
}

safetensors::TensorMap Package::tensors(const std::string& file) const { return safetensors::load(path(file)); }

std::map<std::string, Calibration> Package::calibrations() const {
  std::map<std::string, Calibration> out;
  for (const auto& sf : manifest_.scale_factors)
    if (!sf.calibration.empty()) out[sf.name] = Calibration::load(path(sf.calibration), manifest_.num_exits());
  return out;
}

std::shared_ptr<GuideDatabase> Package::guide_database(const std::string& override_dir) const {
  if (!manifest_.guide_database) {
    if (!override_dir.empty())
      throw PackageError(override_dir + ": a database was given but model package " + dir_ + " has no guide inputs to feed it");
    return nullptr;
  }
  const auto& entry = *manifest_.guide_database;
  const std::string where = override_dir.empty() ? dir_ : override_dir;
  // Only hashed files reach the database readers: FAISS's is not safe on crafted input.
  GuideDatabase::FileCheck check;
  if (override_dir.empty()) {
    check = [this](const std::string& name) {
      if (!manifest_.files.count(name))
        throw PackageError(path(name) + ": not listed in " + path("manifest.json") + "'s files, so it is not loaded");
    };
  } else {
    check = [where, hashes = database_hashes(where, entry.prefix)](const std::string& name) {
      const std::string file = where + "/" + name;
      const auto it = hashes.files.find(name);
      if (it == hashes.files.end()) throw PackageError(file + ": not listed in " + hashes.origin + ", so it is not loaded");
      require_inside(where, file);
      const std::string actual = sha256_file(file);
      if (actual != it->second)
        throw PackageError(file + ": SHA-256 is " + actual + " but " + hashes.origin + " says " + it->second +
                           " (file changed or corrupt)");
    };
  }
  auto db = std::make_shared<GuideDatabase>(GuideDatabase::load(where, entry.prefix, check));
  const std::string name = where + "/" + entry.prefix + ".safetensors";
  if (db->key_dim() != entry.key_dim)
    throw PackageError(name + ": keys have " + std::to_string(db->key_dim()) + " dimensions but model " + dir_ + " makes " +
                       std::to_string(entry.key_dim) + "-dimensional keys (database built for another model?)");
  if (db->value_shape() != entry.value_shape) {
    std::string got, want;
    for (auto v : db->value_shape()) got += std::to_string(v) + " ";
    for (auto v : entry.value_shape) want += std::to_string(v) + " ";
    throw PackageError(name + ": values have shape [ " + got + "] but model " + dir_ + " expects [ " + want + "]");
  }
  if (db->size() == 0) throw PackageError(name + ": the guide database is empty");
  return db;
}

void Package::write(const std::string& dir, Manifest manifest) {
  manifest.files.clear();
  for (const auto& file : referenced_files(manifest)) manifest.files[file] = sha256_file(dir + "/" + file);
  // Approximate indices travel as extra files beside the database.
  if (manifest.guide_database)
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string f = entry.path().filename().string();
      if (f.rfind(manifest.guide_database->prefix + ".", 0) == 0 && entry.path().extension() == ".faiss")
        manifest.files[f] = sha256_file(entry.path().string());
    }
  const std::string path = dir + "/manifest.json";
  std::ofstream out(path);
  out << manifest.dump() << "\n";
  if (!out) throw PackageError(path + ": cannot write");
}

}  // namespace fiancee
