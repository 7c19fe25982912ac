#include "hw/virtio/IoWorker.h"

namespace cxvm::hw::virtio {

IoWorker::IoWorker(unsigned slots, Job job, Wake wake, bool threaded)
    : job_(std::move(job)), wake_(std::move(wake)) {
    pending_.items.resize(slots);
    done_.items.resize(slots);
    if (threaded) thread_ = std::thread([this] { run(); });
}

IoWorker::~IoWorker() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    work_.notify_one();
    thread_.join();
}

void IoWorker::submit(std::uint16_t slot) {
    if (!thread_.joinable()) {
        job_(slot);
        std::lock_guard lock(mutex_);
        done_.push(slot);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        pending_.push(slot);
    }
    work_.notify_one();
}

void IoWorker::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait(lock, [this] { return stop_ || pending_.count > 0; });
        if (pending_.count == 0) return;  // stopping, nothing left
        const std::uint16_t slot = pending_.pop();
        ++running_;
        lock.unlock();
        job_(slot);
        lock.lock();
        --running_;
        done_.push(slot);
        const bool first = done_.count == 1;
        if (pending_.count == 0 && running_ == 0) idle_.notify_all();
        if (first) {
            lock.unlock();
            wake_();
            lock.lock();
        }
    }
}

std::size_t IoWorker::takeCompleted(std::span<std::uint16_t> out) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    while (n < out.size() && done_.count > 0) out[n++] = done_.pop();
    return n;
}

void IoWorker::drain() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return pending_.count == 0 && running_ == 0; });
}

}  // namespace cxvm::hw::virtio
