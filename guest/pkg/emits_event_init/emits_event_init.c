/* emits_event_init NODE [NODE ...]: makes the device nodes of the guest's cross-VM
 * guest-to-VMM events (crossvm-abi.md "Helper programs and init"). The nth node is the
 * event with id n (its minor). Run once per boot by camkes_init, after /init loaded the
 * emits_event module. Output line as the reference's (and the tutorial's boot log):
 * "Creating emitting event node NODE". */
#include "camkes_nodes.h"

int main(int argc, char *argv[]) {
    return camkes_event_nodes_main(argc, argv, "emits_event_init", "emits_event", "emitting event");
}
