#pragma once
// Runs a device's jobs off the VM thread: one host thread per device taking job numbers
// (request slots) from a fixed-size submission ring, running them, and putting them on
// a completion ring that the VM thread empties. The VM thread alone touches the
// virtqueues; the worker touches only the request's data buffers (guest memory the
// driver has handed to the device) and the image. The mutex orders the two: a job's
// writes to guest memory happen before the VM thread takes its completion and publishes
// the used entry.
//
// When the completion ring goes from empty to non-empty the worker calls `wake`
// (Vm::kick: ends the vCPU slice or the idle wait) so that the VM thread picks the
// completions up promptly; further completions ride on the same wake.
//
// Inline mode (threaded = false) runs each job inside submit(): deterministic runs
// (guest time must not depend on host I/O timing) and tests use it.
//
// Nothing is allocated per job: both rings are sized once by the slot count.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace cxvm::hw::virtio {

class IoWorker {
public:
    using Job = std::function<void(std::uint16_t slot)>;  // runs on the worker thread
    using Wake = std::function<void()>;                   // thread-safe

    IoWorker(unsigned slots, Job job, Wake wake, bool threaded);
    // Stops the thread after the jobs already submitted.
    ~IoWorker();
    IoWorker(const IoWorker&) = delete;
    IoWorker& operator=(const IoWorker&) = delete;

    // ---- VM thread ----
    // Each slot is submitted at most once until its completion is taken.
    void submit(std::uint16_t slot);
    // Moves finished slots into `out` (oldest first); returns how many.
    std::size_t takeCompleted(std::span<std::uint16_t> out);
    // Blocks until every submitted job has finished (device reset: the jobs may still
    // be writing guest memory the driver is about to reuse).
    void drain();
    [[nodiscard]] bool threaded() const { return thread_.joinable(); }

private:
    // A fixed-capacity FIFO of slot numbers.
    struct Ring {
        std::vector<std::uint16_t> items;
        std::size_t head = 0, count = 0;
        void push(std::uint16_t v) { items[(head + count++) % items.size()] = v; }
        std::uint16_t pop() {
            const std::uint16_t v = items[head];
            head = (head + 1) % items.size();
            --count;
            return v;
        }
    };
    void run();

    Job job_;
    Wake wake_;
    std::mutex mutex_;
    std::condition_variable work_, idle_;
    Ring pending_, done_;
    unsigned running_ = 0;
    bool stop_ = false;
    std::thread thread_;  // last: started once the rest exists
};

}  // namespace cxvm::hw::virtio
