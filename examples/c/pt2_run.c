/*
 * pt2_run: run a PT2 archive (torch.export.save) on inputs from a safetensors file, with no
 * Python and no libtorch.
 *
 *     pt2_run ARCHIVE.pt2 INPUTS.safetensors OUTPUTS.safetensors
 *
 * Inputs are named as `pt2 run` names them (`x`, `inp['x']`; `pt2 inspect --signature` lists
 * them); outputs are written as output_0, output_1, ... Exit status 0 on success; 1 with pt2's
 * message on stderr otherwise (an input outside the program's constraints, a missing input, an
 * unreadable archive).
 */
#include <stdio.h>

#include "pt2.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: pt2_run ARCHIVE.pt2 INPUTS.safetensors OUTPUTS.safetensors\n");
        return 1;
    }
    int status = 1;
    Pt2Error *error = NULL;
    Pt2Module *module = NULL;
    Pt2TensorList *inputs = NULL;
    Pt2TensorList *outputs = NULL;

    Pt2Program *program = pt2_program_load(argv[1], &error);
    if (program == NULL) goto done;
    module = pt2_program_module(program, &error);
    if (module == NULL) goto done;
    inputs = pt2_safetensors_load(argv[2], &error);
    if (inputs == NULL) goto done;
    outputs = pt2_module_run_named(module, inputs, &error);
    if (outputs == NULL) goto done;
    if (!pt2_safetensors_save(argv[3], outputs, &error)) goto done;
    status = 0;

done:
    if (error != NULL) {
        fprintf(stderr, "pt2_run: %s\n", pt2_error_message(error));
        pt2_error_free(error);
    }
    pt2_tensor_list_free(outputs);
    pt2_tensor_list_free(inputs);
    pt2_module_free(module);
    pt2_program_free(program);
    return status;
}
