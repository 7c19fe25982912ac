# Included by a library's Makefile (guest/lib_src/<name>/) after common.mk. LIB names
# the library: lib$(LIB).a from every .c in the folder (or SRCS), its include/ folder
# installed beside it, so programs build with -l$(LIB) and #include its headers.
# `cxvm build-rootfs` builds and installs every library before any program.
.DEFAULT_GOAL := all
SRCS ?= $(sort $(wildcard *.c))
CFLAGS += -Iinclude
OBJS := $(SRCS:.c=.o)
LIBFILE := lib$(LIB).a

all: $(LIBFILE)

# D: deterministic archive (zero timestamps and owners): reproducible images.
$(LIBFILE): $(OBJS)
	rm -f $@
	$(AR) rcsD $@ $^

install: $(LIBFILE)
	install -D -m 0644 $(LIBFILE) $(CXVM_GUEST_SYSROOT)/lib/$(LIBFILE)
	if [ -d include ]; then mkdir -p $(CXVM_GUEST_SYSROOT)/include && cp -R include/. $(CXVM_GUEST_SYSROOT)/include/; fi

clean:
	rm -f $(LIBFILE) *.o

.PHONY: all install clean
