// File: tests/unit/plugins/broken_plugin.cpp
//
// One small plugin built several ways, each broken in its own way, so that the
// registry's refusals are tested against real libraries:
//   -DBAD_MAJOR     ABI major + 1
//   -DNEWER_MINOR   ABI minor + 1
//   -DNO_ENTRY      exports no sb_provider_entry
//   -DSHORT_TABLE   struct_size covers only the version header
//   -DTHROWS        a provider whose chat() and list_models() throw
//   -DCREATE_FAILS  a provider whose constructor throws
#include <switchboard/provider.hpp>

#include <stdexcept>

namespace sdk = switchboard::sdk;

namespace {

class BrokenProvider final : public sdk::Provider {
 public:
  BrokenProvider() {
#ifdef CREATE_FAILS
    throw std::runtime_error("constructor exploded");
#endif
  }
  sdk::ProviderInfo info() const override { return {"broken", "0.0.1", "deliberately broken"}; }
  std::vector<std::string> list_models(const sdk::Json&) const override {
#ifdef THROWS
    throw std::logic_error("list_models exploded");
#endif
    return {"only"};
  }
  void chat(const sdk::ChatRequest&, sdk::Sink& sink) override {
#ifdef THROWS
    throw std::logic_error("chat exploded");
#endif
    sink.delta("fine");
  }
};

}  // namespace

#ifndef NO_ENTRY
extern "C" __attribute__((visibility("default"))) const sb_provider_api* sb_provider_entry(void) {
  static sb_provider_api api = [] {
    sb_provider_api a = *sdk::detail::Glue<BrokenProvider>::table();
#ifdef BAD_MAJOR
    a.abi_major = SB_ABI_MAJOR + 1;
#endif
#ifdef NEWER_MINOR
    a.abi_minor = SB_ABI_MINOR + 1;
#endif
#ifdef SHORT_TABLE
    a.struct_size = SB_API_HEADER_SIZE;
#endif
    return a;
  }();
  return &api;
}
#else
extern "C" __attribute__((visibility("default"))) int sb_something_else(void) { return 42; }
#endif
