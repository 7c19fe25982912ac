# Included first by every guest program's and library's Makefile (the seed's
# `include ../../common.mk`): the guest toolchain from the guest kit, for static i686
# programs against Debian's 32-bit C library. No targets here.
#
# `cxvm build-rootfs` sets CXVM_KIT, CXVM_GUEST_SYSROOT (where lib_src libraries are
# installed) and DESTDIR; running make by hand in a pkg folder works too, with the
# defaults below.
GUEST_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
CXVM_KIT ?= $(if $(CXVM_CACHE),$(CXVM_CACHE),$(GUEST_DIR)/../.cache)/kit
ifeq ($(wildcard $(CXVM_KIT)/env.mk),)
$(error guest kit not found at $(CXVM_KIT): run scripts/fetch-guest-kit)
endif
include $(CXVM_KIT)/env.mk

CXVM_GUEST_SYSROOT ?= $(GUEST_DIR)/.sysroot
CC := $(GUEST_CC)
AR := $(GUEST_AR)
CFLAGS += $(GUEST_CFLAGS) $(CXVM_PREFIX_MAP) -Wall -I$(GUEST_DIR)/include -I$(CXVM_GUEST_SYSROOT)/include
LDFLAGS += $(GUEST_LDFLAGS) -L$(CXVM_GUEST_SYSROOT)/lib
