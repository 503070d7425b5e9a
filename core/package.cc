#include "core/package.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/hash.h"

namespace fiancee {

namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PackageError(path + ": cannot open (" + (fs::exists(path) ? "unreadable" : "no such file") + ")");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file the manifest points at, so none escapes hashing.
std::set<std::string> referenced_files(const Manifest& m) {
  // Empty names: TorchScript packages whose modules carry their own weights.
  std::set<std::string> files;
  if (!m.weights.empty()) files.insert(m.weights);
  for (const auto& sf : m.scale_factors)
    if (!sf.weights.empty()) files.insert(sf.weights);
  for (const auto& [role, file] : m.torchscript) files.insert(file);
  if (m.guide_database) files.insert(m.guide_database->prefix + ".safetensors");
  return files;
}

}  // namespace

Package Package::open(const std::string& dir) {
  if (dir.empty()) throw PackageError("model package location is empty: set it to a package directory");
  if (!fs::is_directory(dir))
    throw PackageError(dir + ": " + (fs::exists(dir) ? "is not a directory (a model package is a directory with manifest.json)" : "no such model package directory"));
  Package p;
  p.dir_ = fs::path(dir).lexically_normal().string();
  const std::string manifest_path = p.path("manifest.json");
  p.manifest_ = Manifest::parse(read_text(manifest_path), manifest_path);
  for (const auto& file : referenced_files(p.manifest_))
    if (!p.manifest_.files.count(file))
      throw PackageError(manifest_path + ": file '" + file + "' is used but has no hash in 'files'");
  for (const auto& [file, expected] : p.manifest_.files) {
    const std::string path = p.path(file);
    if (!fs::exists(path)) throw PackageError(path + ": listed in the manifest but missing from the package");
    const std::string actual = sha256_file(path);
    if (actual != expected)
      throw PackageError(path + ": SHA-256 is " + actual + " but the manifest says " + expected + " (file changed or corrupt)");
  }
  return p;
}

safetensors::TensorMap Package::tensors(const std::string& file) const { return safetensors::load(path(file)); }

std::shared_ptr<GuideDatabase> Package::guide_database(const std::string& override_dir) const {
  if (!manifest_.guide_database) {
    if (!override_dir.empty())
      throw PackageError(override_dir + ": a database was given but model package " + dir_ + " has no guide inputs to feed it");
    return nullptr;
  }
  const auto& entry = *manifest_.guide_database;
  const std::string where = override_dir.empty() ? dir_ : override_dir;
  auto db = std::make_shared<GuideDatabase>(GuideDatabase::load(where, entry.prefix));
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
