/* consumes_event_init NODE [NODE ...]: makes the device nodes of the guest's cross-VM
 * VMM-to-guest events (crossvm-abi.md "Helper programs and init"). The nth node is the
 * event with id n (its minor). Run once per boot by camkes_init, after /init loaded the
 * consumes_event module. Output line as the reference's (and the tutorial's boot log):
 * "Creating consuming event node NODE". */
#include "camkes_nodes.h"

int main(int argc, char *argv[]) {
    return camkes_event_nodes_main(argc, argv, "consumes_event_init", "consumes_event", "consuming event");
}
