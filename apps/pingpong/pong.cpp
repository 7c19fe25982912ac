// A passive C++ component: it answers every ping from a (one-shot) callback.
#include <camkes.h>

#include <atomic>
#include <cstdio>

namespace {

std::atomic<int> received{0};

void onPing(void* /*arg*/) {
    int n = ++received;
    std::printf("pong %d\n", n);
    ping_reg_callback(onPing, nullptr);  // callbacks are one-shot: register again first
    pong_emit();
}

}  // namespace

void post_init(void) { ping_reg_callback(onPing, nullptr); }
