// pt2.hpp: C++17 wrapper over pt2.h (header-only). RAII handles, exceptions carrying pt2's
// message, and span-style views of tensor elements.
//
//     pt2::Program program("resnet.pt2");
//     pt2::Module module = program.module();
//     std::vector<float> image(1 * 3 * 224 * 224);
//     pt2::Tensor x = pt2::Tensor::borrow(image.data(), {1, 3, 224, 224});
//     pt2::TensorList out = module.run({x});
//     pt2::View<const float> logits = out[0].view<float>();
//
// Link with -lpt2 (libpt2.so) or libpt2.a plus -lpthread -ldl -lm.
#ifndef PT2_HPP
#define PT2_HPP

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pt2.h"

namespace pt2 {

// A failure pt2 reported: what() is pt2's message; input() the program input at fault, if one.
class Error : public std::runtime_error {
  public:
    explicit Error(Pt2Error *e)
        : std::runtime_error(pt2_error_message(e)), input_(pt2_error_input(e) ? pt2_error_input(e) : "") {
        pt2_error_free(e);
    }
    explicit Error(const std::string &message) : std::runtime_error(message) {}
    const std::string &input() const { return input_; }

  private:
    std::string input_;
};

namespace detail {
// Calls a C function that takes `Pt2Error **` last; throws pt2::Error on failure.
template <typename F>
auto check(F &&call) {
    Pt2Error *error = nullptr;
    auto result = call(&error);
    if (!result) throw Error(error);
    return result;
}
template <typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const { Free(p); }
};
inline std::string take_string(char *s) {
    std::string out = s ? s : "";
    pt2_string_free(s);
    return out;
}
}  // namespace detail

// The Pt2Dtype of a C++ element type.
template <typename T> constexpr Pt2Dtype dtype_of();
template <> constexpr Pt2Dtype dtype_of<float>() { return PT2_DTYPE_FLOAT32; }
template <> constexpr Pt2Dtype dtype_of<double>() { return PT2_DTYPE_FLOAT64; }
template <> constexpr Pt2Dtype dtype_of<int64_t>() { return PT2_DTYPE_INT64; }
template <> constexpr Pt2Dtype dtype_of<int32_t>() { return PT2_DTYPE_INT32; }
template <> constexpr Pt2Dtype dtype_of<int16_t>() { return PT2_DTYPE_INT16; }
template <> constexpr Pt2Dtype dtype_of<int8_t>() { return PT2_DTYPE_INT8; }
template <> constexpr Pt2Dtype dtype_of<uint8_t>() { return PT2_DTYPE_UINT8; }
template <> constexpr Pt2Dtype dtype_of<bool>() { return PT2_DTYPE_BOOL; }

// A contiguous run of elements (std::span's shape, for C++17).
template <typename T>
class View {
  public:
    View(T *data, size_t size) : data_(data), size_(size) {}
    T *data() const { return data_; }
    size_t size() const { return size_; }
    T &operator[](size_t i) const { return data_[i]; }
    T *begin() const { return data_; }
    T *end() const { return data_ + size_; }

  private:
    T *data_;
    size_t size_;
};

// A tensor handle. Copies share the elements (as tensors in PyTorch do).
class Tensor {
  public:
    // A tensor holding a copy of `data` (row-major), shaped `shape`.
    template <typename T>
    static Tensor copy(const T *data, std::vector<int64_t> shape) {
        return Tensor(detail::check([&](Pt2Error **e) {
            return pt2_tensor_from_data(dtype_of<T>(), shape.data(), shape.size(), nullptr, data, e);
        }));
    }
    // A tensor over `data` without copying: `data` must outlive this tensor and every output of
    // a run it was given to (see pt2_tensor_borrow).
    template <typename T>
    static Tensor borrow(T *data, std::vector<int64_t> shape) {
        return Tensor(detail::check([&](Pt2Error **e) {
            return pt2_tensor_borrow(dtype_of<T>(), shape.data(), shape.size(), nullptr, data, e);
        }));
    }
    // A new handle on a tensor a list owns.
    static Tensor share(const Pt2Tensor *t) { return Tensor(pt2_tensor_clone(t)); }

    Pt2Dtype dtype() const { return static_cast<Pt2Dtype>(pt2_tensor_dtype(get())); }
    std::vector<int64_t> shape() const {
        const int64_t *s = pt2_tensor_shape(get());
        return std::vector<int64_t>(s, s + pt2_tensor_ndim(get()));
    }
    size_t numel() const { return pt2_tensor_numel(get()); }
    // The elements, for a contiguous tensor (as every run output is) of element type T.
    template <typename T>
    View<const T> view() const {
        if (dtype() != dtype_of<T>()) {
            throw Error(std::string("tensor holds ") + pt2_dtype_name(dtype()) + ", not " + pt2_dtype_name(dtype_of<T>()));
        }
        return View<const T>(static_cast<const T *>(pt2_tensor_data(get())), numel());
    }
    const Pt2Tensor *get() const { return handle_.get(); }

  private:
    explicit Tensor(Pt2Tensor *t) : handle_(t, pt2_tensor_free) {}
    std::shared_ptr<Pt2Tensor> handle_;
};

// Named tensors: a safetensors file, a run's inputs by name, a run's outputs.
class TensorList {
  public:
    TensorList() : handle_(pt2_tensor_list_new()) {}
    static TensorList load_safetensors(const std::string &path) {
        return TensorList(detail::check([&](Pt2Error **e) { return pt2_safetensors_load(path.c_str(), e); }));
    }
    void save_safetensors(const std::string &path) const {
        detail::check([&](Pt2Error **e) { return pt2_safetensors_save(path.c_str(), get(), e); });
    }
    void push(const std::string &name, const Tensor &t) {
        detail::check([&](Pt2Error **e) { return pt2_tensor_list_push(handle_.get(), name.c_str(), t.get(), e); });
    }
    size_t size() const { return pt2_tensor_list_len(get()); }
    std::string name(size_t i) const { return pt2_tensor_list_name(get(), i); }
    // Entry i (an output that is None has no tensor: throws).
    Tensor operator[](size_t i) const {
        const Pt2Tensor *t = pt2_tensor_list_get(get(), i);
        if (!t) throw Error("entry " + std::to_string(i) + " of " + std::to_string(size()) + " holds no tensor");
        return Tensor::share(t);
    }
    const Pt2TensorList *get() const { return handle_.get(); }

  private:
    friend class Module;
    explicit TensorList(Pt2TensorList *l) : handle_(l) {}
    std::unique_ptr<Pt2TensorList, detail::Deleter<Pt2TensorList, pt2_tensor_list_free>> handle_;
};

// A program compiled for running; run() may be called from many threads at once.
class Module {
  public:
    // Runs on inputs in the program's order; outputs output_0, output_1, ...
    TensorList run(const std::vector<Tensor> &inputs) const {
        std::vector<const Pt2Tensor *> raw;
        for (const Tensor &t : inputs) raw.push_back(t.get());
        return wrap(detail::check([&](Pt2Error **e) { return pt2_module_run(get(), raw.data(), raw.size(), e); }));
    }
    // Runs on inputs given by name (input_names()).
    TensorList run(const TensorList &inputs) const {
        return wrap(detail::check([&](Pt2Error **e) { return pt2_module_run_named(get(), inputs.get(), e); }));
    }
    std::vector<std::string> input_names() const {
        std::vector<std::string> names;
        for (size_t i = 0; i < pt2_module_input_count(get()); i++) names.emplace_back(pt2_module_input_name(get(), i));
        return names;
    }
    const Pt2Module *get() const { return handle_.get(); }

  private:
    friend class Program;
    explicit Module(Pt2Module *m) : handle_(m, pt2_module_free) {}
    static TensorList wrap(Pt2TensorList *l);
    std::shared_ptr<Pt2Module> handle_;
};

// A loaded PT2 archive.
class Program {
  public:
    explicit Program(const std::string &path)
        : handle_(detail::check([&](Pt2Error **e) { return pt2_program_load(path.c_str(), e); })) {}
    Program(const void *data, size_t len)
        : handle_(detail::check([&](Pt2Error **e) { return pt2_program_load_buffer(static_cast<const uint8_t *>(data), len, e); })) {}
    Module module() const {
        return Module(detail::check([&](Pt2Error **e) { return pt2_program_module(handle_.get(), e); }));
    }
    // PyTorch's print(ep) layout.
    std::string str() const { return detail::take_string(pt2_program_print(handle_.get())); }
    // One line per input (`x: f32[2, s27, 32]`), the outputs and the symbolic sizes' ranges.
    std::string signature() const { return detail::take_string(pt2_program_signature(handle_.get())); }

  private:
    std::unique_ptr<Pt2Program, detail::Deleter<Pt2Program, pt2_program_free>> handle_;
};

inline TensorList Module::wrap(Pt2TensorList *l) { return TensorList(l); }

}  // namespace pt2

#endif  // PT2_HPP
