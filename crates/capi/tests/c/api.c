/*
 * The C interface's parts, each checked: tensors copied, borrowed and strided give the same
 * outputs; a program loaded from memory runs as one loaded from a file; errors name the input;
 * dtype helpers; NULL arguments are errors, not crashes.
 *
 *     api LINEAR_RELU.pt2        (the tutorial program: x, y: f32[8, 100] -> f32[8, 10])
 *
 * Prints "ok" and exits 0, or names the first failed check and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt2.h"

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

static Pt2TensorList *run2(const Pt2Module *m, const Pt2Tensor *x, const Pt2Tensor *y) {
    const Pt2Tensor *inputs[2] = {x, y};
    Pt2Error *error = NULL;
    Pt2TensorList *out = pt2_module_run(m, inputs, 2, &error);
    if (out == NULL) {
        fprintf(stderr, "run: %s\n", pt2_error_message(error));
        exit(1);
    }
    return out;
}

static int same(const Pt2TensorList *a, const Pt2TensorList *b) {
    const Pt2Tensor *ta = pt2_tensor_list_get(a, 0), *tb = pt2_tensor_list_get(b, 0);
    size_t n = pt2_tensor_numel(ta) * sizeof(float);
    return n == pt2_tensor_numel(tb) * sizeof(float) && memcmp(pt2_tensor_data(ta), pt2_tensor_data(tb), n) == 0;
}

/* Equal within float32 rounding: an input laid out otherwise is computed in its own memory
   order (as PyTorch does), which may round differently in the last bits. */
static int near(const Pt2TensorList *a, const Pt2TensorList *b) {
    const Pt2Tensor *ta = pt2_tensor_list_get(a, 0), *tb = pt2_tensor_list_get(b, 0);
    size_t n = pt2_tensor_numel(ta);
    if (n != pt2_tensor_numel(tb)) return 0;
    const float *x = pt2_tensor_data(ta), *y = pt2_tensor_data(tb);
    for (size_t i = 0; i < n; i++) {
        float d = x[i] - y[i], m = x[i] < 0 ? -x[i] : x[i];
        if ((d < 0 ? -d : d) > 1e-5f + 1e-5f * m) return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    Pt2Error *error = NULL;

    /* dtype helpers */
    CHECK(pt2_dtype_size(PT2_DTYPE_FLOAT32) == 4 && pt2_dtype_size(PT2_DTYPE_BOOL) == 1);
    CHECK(strcmp(pt2_dtype_name(PT2_DTYPE_INT64), "int64") == 0);
    CHECK(pt2_dtype_name(8) == NULL && pt2_dtype_size(8) == 0); /* complex32: not a pt2 dtype */
    CHECK(strcmp(pt2_version(), "0.1.0") == 0);

    /* NULL arguments are errors */
    CHECK(pt2_program_load(NULL, &error) == NULL);
    CHECK(strcmp(pt2_error_message(error), "`path` is NULL") == 0);
    pt2_error_free(error);
    error = NULL;
    CHECK(pt2_program_load("/nonexistent.pt2", NULL) == NULL); /* no error wanted: none stored */

    /* a program from a file and from memory */
    Pt2Program *program = pt2_program_load(argv[1], &error);
    CHECK(program != NULL);
    FILE *f = fopen(argv[1], "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc(len);
    CHECK(fread(bytes, 1, len, f) == (size_t)len);
    fclose(f);
    Pt2Program *from_memory = pt2_program_load_buffer(bytes, len, &error);
    free(bytes); /* copied: the program does not need them */
    CHECK(from_memory != NULL);

    char *printed = pt2_program_print(program);
    CHECK(strstr(printed, "class GraphModule(torch.nn.Module):") != NULL);
    pt2_string_free(printed);
    char *signature = pt2_program_signature(program);
    CHECK(strstr(signature, "x: f32[8, 100]") != NULL);
    pt2_string_free(signature);

    Pt2Module *module = pt2_program_module(program, &error);
    Pt2Module *module2 = pt2_program_module(from_memory, &error);
    CHECK(module != NULL && module2 != NULL);
    pt2_program_free(program);
    pt2_program_free(from_memory);
    CHECK(pt2_module_input_count(module) == 2);
    CHECK(strcmp(pt2_module_input_name(module, 1), "y") == 0 && pt2_module_input_name(module, 2) == NULL);

    /* inputs: copied, borrowed, and x given transposed in memory through strides */
    static float x[800], y[800], xt[800];
    for (int i = 0; i < 800; i++) {
        x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
        y[i] = (float)((i * 11) % 97) / 40.0f - 1.2f;
    }
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 100; c++) xt[c * 8 + r] = x[r * 100 + c];
    int64_t shape[2] = {8, 100}, transposed[2] = {1, 8};
    Pt2Tensor *xc = pt2_tensor_from_data(PT2_DTYPE_FLOAT32, shape, 2, NULL, x, &error);
    Pt2Tensor *yc = pt2_tensor_from_data(PT2_DTYPE_FLOAT32, shape, 2, NULL, y, &error);
    Pt2Tensor *xb = pt2_tensor_borrow(PT2_DTYPE_FLOAT32, shape, 2, NULL, x, &error);
    Pt2Tensor *xs = pt2_tensor_from_data(PT2_DTYPE_FLOAT32, shape, 2, transposed, xt, &error);
    Pt2Tensor *xsb = pt2_tensor_borrow(PT2_DTYPE_FLOAT32, shape, 2, transposed, xt, &error);
    CHECK(xc && yc && xb && xs && xsb);
    CHECK(pt2_tensor_data(xb) == (const void *)x);
    CHECK(pt2_tensor_strides(xs)[0] == 1 && pt2_tensor_strides(xs)[1] == 8);

    Pt2TensorList *a = run2(module, xc, yc);
    Pt2TensorList *b = run2(module, xb, yc);
    Pt2TensorList *c = run2(module, xs, yc);
    Pt2TensorList *d = run2(module2, xsb, yc);
    CHECK(pt2_tensor_list_len(a) == 1 && strcmp(pt2_tensor_list_name(a, 0), "output_0") == 0);
    const Pt2Tensor *out = pt2_tensor_list_get(a, 0);
    CHECK(pt2_tensor_dtype(out) == PT2_DTYPE_FLOAT32 && pt2_tensor_ndim(out) == 2);
    CHECK(pt2_tensor_shape(out)[0] == 8 && pt2_tensor_shape(out)[1] == 10);
    CHECK(same(a, b) && near(a, c) && near(a, d));

    /* copy_to: row-major, and a short buffer is an error */
    float copied[80];
    CHECK(pt2_tensor_copy_to(out, copied, sizeof copied, &error));
    CHECK(memcmp(copied, pt2_tensor_data(out), sizeof copied) == 0);
    CHECK(!pt2_tensor_copy_to(out, copied, 10, &error));
    CHECK(strstr(pt2_error_message(error), "holds 10 bytes") != NULL);
    pt2_error_free(error);
    error = NULL;

    /* an input outside the program's constraints: refused, naming the input */
    int64_t wrong[2] = {8, 99};
    Pt2Tensor *xw = pt2_tensor_from_data(PT2_DTYPE_FLOAT32, wrong, 2, NULL, x, &error);
    const Pt2Tensor *bad[2] = {xw, yc};
    CHECK(pt2_module_run(module, bad, 2, &error) == NULL);
    CHECK(pt2_error_input(error) != NULL && strcmp(pt2_error_input(error), "x") == 0);
    CHECK(strstr(pt2_error_message(error), "99") != NULL);
    pt2_error_free(error);
    error = NULL;
    /* the wrong number of inputs */
    CHECK(pt2_module_run(module, bad, 1, &error) == NULL);
    CHECK(strstr(pt2_error_message(error), "1 inputs were given; the program takes 2: x, y") != NULL);
    pt2_error_free(error);
    error = NULL;
    /* a dtype that is none */
    CHECK(pt2_tensor_from_data(42, shape, 2, NULL, x, &error) == NULL);
    CHECK(strstr(pt2_error_message(error), "`dtype` is 42") != NULL);
    pt2_error_free(error);
    error = NULL;
    /* misaligned borrowed memory */
    CHECK(pt2_tensor_borrow(PT2_DTYPE_FLOAT32, shape, 2, NULL, (char *)x + 1, &error) == NULL);
    CHECK(strstr(pt2_error_message(error), "not aligned") != NULL);
    pt2_error_free(error);
    error = NULL;

    /* lists: by name, and a name given twice */
    Pt2TensorList *named = pt2_tensor_list_new();
    CHECK(pt2_tensor_list_push(named, "y", yc, &error) && pt2_tensor_list_push(named, "x", xb, &error));
    CHECK(!pt2_tensor_list_push(named, "x", xc, &error));
    pt2_error_free(error);
    error = NULL;
    CHECK(pt2_tensor_list_find(named, "x") != NULL && pt2_tensor_list_find(named, "z") == NULL);
    Pt2TensorList *e = pt2_module_run_named(module, named, &error);
    CHECK(e != NULL && same(a, e));

    pt2_tensor_list_free(e);
    pt2_tensor_list_free(named);
    pt2_tensor_list_free(a);
    pt2_tensor_list_free(b);
    pt2_tensor_list_free(c);
    pt2_tensor_list_free(d);
    pt2_tensor_free(xw);
    pt2_tensor_free(xc);
    pt2_tensor_free(yc);
    pt2_tensor_free(xb);
    pt2_tensor_free(xs);
    pt2_tensor_free(xsb);
    pt2_module_free(module);
    pt2_module_free(module2);
    printf("ok\n");
    return 0;
}
