; A BIOS-style firmware ROM (64 KiB) for `cxvm run --firmware`: the reset vector at
; F000:FFF0 (linear 0xFFFFFFF0, the ROM's copy at the top of 4 GiB) far-jumps to F000:E05B,
; i.e. into the ROM's alias below 1 MiB (0xFE05B), as every PC BIOS does. There it writes
; POST codes 01, 02, 55 to port 0x80 and exits through the debug-exit port with status 99
; (0x31). A failed check exits with status (2*n+1) for check n instead.
; Assembled by tests/vmm/FirmwareRomTest.cpp and tests/integration/firmware-post.sh with
; `bits 16` and `org 0` in front (offsets are F000-segment offsets).

%macro check 1              ; exit with check number %1 unless ZF is set
    jz %%ok
    mov al, %1
    jmp fail
%%ok:
%endmacro

times 0xE000 - ($ - $$) db 0xFF
ro_byte:
    db 0xA5

times 0xE05B - ($ - $$) db 0xFF
post:                       ; F000:E05B
    cli
    mov ax, cs
    cmp ax, 0xF000
    check 1
    mov al, 0x01
    out 0x80, al
    ; The alias is ROM: a store through it is ignored.
    mov ax, 0xF000
    mov ds, ax
    mov byte [ro_byte], 0x5A
    cmp byte [ro_byte], 0xA5
    check 2
    ; This code runs from the alias, and its bytes are the ones at the top of 4 GiB.
    cmp byte [reset], 0xEA
    check 3
    ; RAM right below the alias (0xEFFFF for a 64 KiB ROM) and right above it (0x100000)
    ; is still RAM.
    mov ax, 0xEFFF
    mov ds, ax
    mov byte [0x000F], 0x3C
    cmp byte [0x000F], 0x3C
    check 4
    mov ax, 0xFFFF
    mov ds, ax
    mov byte [0x0010], 0x4D
    cmp byte [0x0010], 0x4D
    check 5
    mov al, 0x02
    out 0x80, al
    mov al, 0x55
    out 0x80, al
    mov al, 0x31            ; debug exit: status 99
fail:
    mov dx, 0x501
    out dx, al
    hlt
    jmp fail

times 0xFFF0 - ($ - $$) db 0xFF
reset:                      ; F000:FFF0, CS.base 0xFFFF0000 after reset
    jmp 0xF000:post
times 0x10000 - ($ - $$) db 0xFF
