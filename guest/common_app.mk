# Included by a program's Makefile after common.mk (the seed's
# `include ../../common_app.mk`). TARGET names the program; the Makefile gives its link
# rule. `make install` puts it in $(DESTDIR)/usr/bin, which is in the guest's PATH.
.DEFAULT_GOAL := all
all: $(TARGET)

install: $(TARGET)
	install -D -m 0755 $(TARGET) $(DESTDIR)/usr/bin/$(TARGET)

clean:
	rm -f $(TARGET) *.o

.PHONY: all install clean
