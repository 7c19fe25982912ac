/* What the tutorial's guest print_client does, as a native component: each word goes
 * through the shared buffer, one print at a time. */
#include <camkes.h>

#include <stdio.h>
#include <string.h>

static const char *const words[] = {"hello", "world", "from", "a", "native", "client"};

int run(void) {
    printf("dataport %d: %zu bytes (memory object fd %d)\n", data_handle.id, data_handle.size,
           data_handle.fd);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        cross_vm_event_mutex_lock();
        strncpy((char *)data, words[i], data_get_size() - 1);
        data_release();
        do_print_emit();
        done_printing_wait();
        cross_vm_event_mutex_unlock();
    }
    return 0;
}
