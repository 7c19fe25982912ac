; Triple fault: an IDT with limit 0 turns #UD into #GP, #DF, then shutdown.
%include "common.inc"
org ROM
%include "pm_boot.inc"
bits 32
pm_main:
    POST 0x10
    lidt [empty_idt]
    ud2
    EXIT_OK          ; never reached
empty_idt:
    dw 0
    dd 0
times 0xFFF0 - ($ - $$) db 0xF4
bits 16
    jmp real_start
    times 0x10000 - ($ - $$) db 0xF4
