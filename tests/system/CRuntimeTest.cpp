// The C runtime's primitives in one process: notification semantics (coalescing,
// latching, one-shot callbacks), `has` semaphores and mutexes, marshalling buffers.
#include <camkes/runtime.h>

#include <gtest/gtest.h>
#include <sys/eventfd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace {

using namespace std::chrono_literals;

// An event interface bound to an eventfd by hand (the supervisor's job normally).
struct BoundEvent {
    int fd;
    int fds[1];
    cxvm_event ev{};
    BoundEvent() : fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        fds[0] = fd;
        ev.name = "ev";
        ev.nfds = 1;
        ev.fds = fds;
        pthread_mutex_init(&ev.lock, nullptr);
        pthread_cond_init(&ev.cond, nullptr);
    }
    ~BoundEvent() { ::close(fd); }
    BoundEvent(const BoundEvent&) = delete;
    BoundEvent& operator=(const BoundEvent&) = delete;
};

TEST(Notification, SignalsCoalesce) {
    BoundEvent e;
    for (int i = 0; i < 5; ++i) cxvm_event_emit(&e.ev);
    EXPECT_EQ(cxvm_event_poll(&e.ev), 1);
    EXPECT_EQ(cxvm_event_poll(&e.ev), 0);
}

TEST(Notification, ASignalBeforeTheWaitIsLatched) {
    BoundEvent e;
    cxvm_event_emit(&e.ev);
    auto waited = std::async(std::launch::async, [&] { cxvm_event_wait(&e.ev); });
    EXPECT_EQ(waited.wait_for(2s), std::future_status::ready);
    EXPECT_EQ(cxvm_event_poll(&e.ev), 0);  // the wait consumed it
}

TEST(Notification, WaitBlocksUntilEmitted) {
    BoundEvent e;
    auto waited = std::async(std::launch::async, [&] { cxvm_event_wait(&e.ev); });
    EXPECT_EQ(waited.wait_for(100ms), std::future_status::timeout);
    cxvm_event_emit(&e.ev);
    EXPECT_EQ(waited.wait_for(2s), std::future_status::ready);
}

std::atomic<int> gCalls{0};
void countCall(void* arg) {
    EXPECT_EQ(arg, &gCalls);
    ++gCalls;
}

bool eventually(const std::function<bool()>& f) {
    for (int i = 0; i < 200; ++i) {
        if (f()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

TEST(Notification, CallbacksAreOneShot) {
    static BoundEvent e;  // the callback thread outlives the test
    gCalls = 0;
    ASSERT_EQ(cxvm_event_reg_callback(&e.ev, countCall, &gCalls), 0);
    EXPECT_EQ(cxvm_event_reg_callback(&e.ev, countCall, &gCalls), -1);  // one at a time
    cxvm_event_emit(&e.ev);
    EXPECT_TRUE(eventually([] { return gCalls == 1; }));
    cxvm_event_emit(&e.ev);  // nobody registered: latched, not delivered
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(gCalls, 1);
    ASSERT_EQ(cxvm_event_reg_callback(&e.ev, countCall, &gCalls), 0);
    EXPECT_TRUE(eventually([] { return gCalls == 2; }));
}

TEST(HasObjects, BinarySemaphoreSaturatesCountingDoesNot) {
    cxvm_shared_sem* bin = cxvm_sem_create(0, 1);
    for (int i = 0; i < 3; ++i) cxvm_sem_post(bin);
    EXPECT_EQ(cxvm_sem_trywait(bin), 0);
    EXPECT_EQ(cxvm_sem_trywait(bin), -1);
    cxvm_shared_sem* count = cxvm_sem_create(2, 0);
    cxvm_sem_post(count);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(cxvm_sem_trywait(count), 0);
    EXPECT_EQ(cxvm_sem_trywait(count), -1);
    auto waited = std::async(std::launch::async, [&] { return cxvm_sem_wait(count); });
    EXPECT_EQ(waited.wait_for(50ms), std::future_status::timeout);
    cxvm_sem_post(count);
    ASSERT_EQ(waited.wait_for(2s), std::future_status::ready);
    EXPECT_EQ(waited.get(), 0);
}

TEST(HasObjects, MutexExcludes) {
    cxvm_shared_mutex* m = cxvm_mutex_create();
    int counter = 0;
    auto work = [&] {
        for (int i = 0; i < 20000; ++i) {
            cxvm_mutex_lock(m);
            int v = counter;
            std::atomic_signal_fence(std::memory_order_seq_cst);
            counter = v + 1;
            cxvm_mutex_unlock(m);
        }
    };
    std::thread a(work), b(work);
    a.join();
    b.join();
    EXPECT_EQ(counter, 40000);
}

TEST(Marshalling, MalformedMessagesAreCaughtNotOverrun) {
    cxvm_msg m;
    cxvm_msg_reset(&m);
    cxvm_msg_put_str(&m, "hello");
    m.len -= 3;  // truncated
    EXPECT_EQ(cxvm_msg_get_str(&m), nullptr);
    EXPECT_TRUE(m.failed);

    cxvm_msg_reset(&m);
    std::uint32_t len = 1000;  // claims more than there is
    cxvm_msg_put(&m, &len, sizeof len);
    cxvm_msg_put(&m, "ab", 3);
    EXPECT_EQ(cxvm_msg_get_str(&m), nullptr);

    cxvm_msg_reset(&m);
    std::uint64_t count = ~0ULL;  // an array that cannot fit
    cxvm_msg_put(&m, &count, sizeof count);
    std::size_t n = 99;
    void* p = cxvm_msg_get_array(&m, &n, 8);
    EXPECT_TRUE(m.failed);
    EXPECT_EQ(n, 0u);
    std::free(p);

    cxvm_msg_reset(&m);
    std::vector<char> big(CXVM_MSG_MAX + 1, 'x');
    big.back() = '\0';
    cxvm_msg_put_str(&m, big.data());
    EXPECT_TRUE(m.failed);  // too big for one message: refused, not overrun
}

}  // namespace
