/*
 * One loaded program run from many threads at once: every call's outputs must equal the first
 * call's, byte for byte.
 *
 *     threads ARCHIVE.pt2 INPUTS.safetensors THREADS CALLS
 *
 * Prints "THREADS threads x CALLS calls: identical" and exits 0, or says what differed and
 * exits 1. Linked against the static libpt2.a by the test `c_examples::module_runs_from_threads`.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt2.h"

struct job {
    const Pt2Module *module;
    const Pt2TensorList *inputs;
    const Pt2TensorList *reference;
    int calls;
    int mismatches;
    char error[1024];
};

static int same_tensor(const Pt2Tensor *a, const Pt2Tensor *b) {
    if (a == NULL || b == NULL) return a == b;
    size_t ndim = pt2_tensor_ndim(a);
    if (pt2_tensor_dtype(a) != pt2_tensor_dtype(b) || ndim != pt2_tensor_ndim(b)) return 0;
    if (ndim > 0 && memcmp(pt2_tensor_shape(a), pt2_tensor_shape(b), ndim * sizeof(int64_t)) != 0) return 0;
    /* outputs are contiguous: their elements are one run of bytes */
    size_t bytes = pt2_tensor_numel(a) * pt2_dtype_size(pt2_tensor_dtype(a));
    return bytes == 0 || memcmp(pt2_tensor_data(a), pt2_tensor_data(b), bytes) == 0;
}

static int same_outputs(const Pt2TensorList *a, const Pt2TensorList *b) {
    size_t n = pt2_tensor_list_len(a);
    if (n != pt2_tensor_list_len(b)) return 0;
    for (size_t i = 0; i < n; i++) {
        if (!same_tensor(pt2_tensor_list_get(a, i), pt2_tensor_list_get(b, i))) return 0;
    }
    return 1;
}

static void *work(void *arg) {
    struct job *job = arg;
    for (int k = 0; k < job->calls; k++) {
        Pt2Error *error = NULL;
        Pt2TensorList *out = pt2_module_run_named(job->module, job->inputs, &error);
        if (out == NULL) {
            snprintf(job->error, sizeof job->error, "call %d: %s", k, pt2_error_message(error));
            pt2_error_free(error);
            return NULL;
        }
        if (!same_outputs(out, job->reference)) job->mismatches++;
        pt2_tensor_list_free(out);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: threads ARCHIVE.pt2 INPUTS.safetensors THREADS CALLS\n");
        return 1;
    }
    int threads = atoi(argv[3]), calls = atoi(argv[4]);
    Pt2Error *error = NULL;
    Pt2Program *program = pt2_program_load(argv[1], &error);
    Pt2Module *module = program ? pt2_program_module(program, &error) : NULL;
    /* the module keeps what it needs: the program can go first */
    pt2_program_free(program);
    Pt2TensorList *inputs = module ? pt2_safetensors_load(argv[2], &error) : NULL;
    Pt2TensorList *reference = inputs ? pt2_module_run_named(module, inputs, &error) : NULL;
    if (reference == NULL) {
        fprintf(stderr, "threads: %s\n", pt2_error_message(error));
        pt2_error_free(error);
        return 1;
    }
    pthread_t *ids = calloc(threads, sizeof *ids);
    struct job *jobs = calloc(threads, sizeof *jobs);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){module, inputs, reference, calls, 0, {0}};
        pthread_create(&ids[t], NULL, work, &jobs[t]);
    }
    int status = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        if (jobs[t].error[0] != 0) {
            fprintf(stderr, "thread %d: %s\n", t, jobs[t].error);
            status = 1;
        }
        if (jobs[t].mismatches > 0) {
            fprintf(stderr, "thread %d: %d of %d calls gave other outputs than the first call\n", t, jobs[t].mismatches, calls);
            status = 1;
        }
    }
    if (status == 0) printf("%d threads x %d calls: identical\n", threads, calls);
    free(ids);
    free(jobs);
    pt2_tensor_list_free(reference);
    pt2_tensor_list_free(inputs);
    pt2_module_free(module);
    return status;
}
