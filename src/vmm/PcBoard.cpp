#include "util/Error.h"
#include "vmm/Vm.h"

namespace cxvm::vmm {

std::unique_ptr<Board> createPcBoard(BoardContext&) {
    throw Error("the PC devices (src/hw) are not part of this build yet");
}

}  // namespace cxvm::vmm
