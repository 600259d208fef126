// classify: an image classifier exported by torch.export (a torchvision ResNet, say), run from
// C++ with no Python and no libtorch.
//
//     classify RESNET.pt2 IMAGE.safetensors [TOP]
//
// IMAGE.safetensors holds one float32 tensor: a normalized image [3, H, W] or a batch
// [N, 3, H, W]. Prints the TOP (default 5) classes of the first image with their softmax
// probabilities, best first, as `class 207: 0.8312`. Exit status 1 with pt2's message on error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "pt2.hpp"

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        std::fprintf(stderr, "usage: classify RESNET.pt2 IMAGE.safetensors [TOP]\n");
        return 1;
    }
    size_t top = argc == 4 ? std::strtoul(argv[3], nullptr, 10) : 5;
    try {
        pt2::Program program(argv[1]);
        pt2::Module module = program.module();

        pt2::TensorList file = pt2::TensorList::load_safetensors(argv[2]);
        if (file.size() == 0) throw pt2::Error(std::string(argv[2]) + " holds no tensor");
        pt2::Tensor image = file[0];
        std::vector<int64_t> shape = image.shape();
        if (shape.size() == 3) {
            // one image: make it a batch of one (the elements are copied once, row-major)
            pt2::View<const float> pixels = image.view<float>();
            shape.insert(shape.begin(), 1);
            image = pt2::Tensor::copy(pixels.data(), shape);
        }

        pt2::TensorList outputs = module.run({image});
        pt2::Tensor logits = outputs[0];
        std::vector<int64_t> out_shape = logits.shape();
        size_t classes = out_shape.back();
        pt2::View<const float> first(logits.view<float>().data(), classes);

        // softmax over the first image's logits, in double
        double max = *std::max_element(first.begin(), first.end());
        std::vector<double> p(classes);
        double sum = 0;
        for (size_t c = 0; c < classes; c++) sum += p[c] = std::exp(first[c] - max);
        std::vector<size_t> order(classes);
        std::iota(order.begin(), order.end(), 0);
        top = std::min(top, classes);
        std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
        for (size_t k = 0; k < top; k++) std::printf("class %zu: %.4f\n", order[k], p[order[k]] / sum);
        return 0;
    } catch (const pt2::Error &e) {
        std::fprintf(stderr, "classify: %s\n", e.what());
        return 1;
    }
}
