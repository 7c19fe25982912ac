; Virtual-8086 oracle ROM: the same image runs on cxvm (Vm86Test.cpp, Vm86Oracle) and on
; QEMU (`qemu-system-i386 -bios`), and each prints every vm86 exit and the script's results
; as hex lines on COM1 before leaving through the debug-exit port 0x501 (status 99); the
; test compares the two texts line by line. QEMU's TCG is an independent implementation,
; not hardware: a difference is a finding to adjudicate against the SDM.
;
; From pm_boot.inc's flat protected mode: a TSS with an I/O bitmap (only port 0x300
; allowed) and ring-0 stack, paging (identity 0-4 MiB through user pages, 0x60000 not
; present; the ROM through a 4 MiB supervisor page), an IDT whose 256 gates lead to a
; monitor that logs each exit (vector, ESP at entry, 11 dwords from there, DS/ES/FS/GS at
; entry, its own EFLAGS) and resumes; then vm86 code copied to 0x40000 runs phase A at
; IOPL 0 and phase B at IOPL 3.
%include "common.inc"
org ROM
%include "pm_boot.inc"

%define LOG     0x50000
%define MVAR    0x4F000      ; +0 ESP at entry, +4 vector, +8 exits, +0xC resume index,
                             ; +0x10 DS/ES at entry, +0x14 FS/GS, +0x18 error code size
%define V86LIN  0x40000
%define V(x)    ((x) - v86_start)
%define DSLIN   0x70000      ; vm86 DS (ES, FS, GS: the next paragraphs of 4 KiB)

bits 32
pm_main:
    cld
    mov edi, MVAR               ; monitor variables and log
    xor eax, eax
    mov ecx, (LOG + 0x1000 - MVAR) / 4
    rep stosd
    mov edi, TSS0               ; TSS0: ring-0 stack, I/O bitmap for ports 0-0x3FF
    mov ecx, 0x68 / 4
    rep stosd
    mov dword [TSS0 + 4], STACK0_TOP
    mov dword [TSS0 + 8], 0x10
    mov word [TSS0 + 0x66], 0x68
    mov edi, TSS0 + 0x68
    mov al, 0xFF
    mov ecx, 129
    rep stosb
    and byte [TSS0 + 0x68 + 0x300 / 8], 0xFE
    mov word [0x800 + 0x28], 0xE8   ; TSS0's limit in the RAM GDT: the bitmap fits
    mov ax, 0x28
    ltr ax
    xor ecx, ecx                ; IDT: every vector -> its stub, interrupt gate, DPL 0
.idt:
    imul eax, ecx, 16
    add eax, v86_stubs
    mov [IDT_BASE + ecx*8], ax
    mov word [IDT_BASE + ecx*8 + 2], 0x08
    mov word [IDT_BASE + ecx*8 + 4], 0x8E00
    shr eax, 16
    mov [IDT_BASE + ecx*8 + 6], ax
    inc ecx
    cmp ecx, 256
    jne .idt
    mov byte [IDT_BASE + 3*8 + 5], 0xEE      ; INT3, INTO, INT 30h: DPL 3
    mov byte [IDT_BASE + 4*8 + 5], 0xEE
    mov byte [IDT_BASE + 0x30*8 + 5], 0xEE
    mov byte [IDT_BASE + 0x32*8 + 5], 0xEE   ; DPL 3, but to ring-3 code: #GP(18h)
    mov word [IDT_BASE + 0x32*8 + 2], 0x18
    mov byte [IDT_BASE + 0x33*8 + 5], 0xEF   ; a trap gate, DPL 3
    mov edi, PT_BASE            ; paging: user pages 0-4 MiB, 0x60000 absent
    mov eax, 7
    mov ecx, 1024
.pt:
    stosd
    add eax, 0x1000
    loop .pt
    and dword [PT_BASE + 0x60*4], ~1
    mov dword [PD_BASE], PT_BASE | 7
    mov dword [PD_BASE + 1023*4], 0xFFC00083  ; the ROM: 4 MiB supervisor page
    mov eax, cr4
    or eax, 0x10                ; PSE
    mov cr4, eax
    mov eax, PD_BASE
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov esi, v86_start          ; the vm86 code, below 1 MiB
    mov edi, V86LIN
    mov ecx, v86_end - v86_start
    rep movsb
    push dword 0x7300           ; GS
    push dword 0x7200           ; FS
    push dword 0x7000           ; DS
    push dword 0x7100           ; ES
    push dword 0x2000           ; SS
    push dword 0xABCD1000       ; ESP
    push dword 0x00020202       ; VM, IF, IOPL 0
    push dword V86LIN >> 4      ; CS
    push dword 0                ; EIP
    iretd

%define MON_VAR MVAR
%define MON_LOG LOG
%include "vm86_monitor.inc"
    mov esi, [MVAR]
    mov eax, [MVAR + 4]
    xor ebx, ebx                ; error code size: vectors 8, 10-14, 17
    cmp eax, 32
    jae .noec
    mov edx, 0x00027D00
    bt edx, eax
    jnc .noec
    mov ebx, 4
.noec:
    mov [MVAR + 0x18], ebx
    lea ebp, [esi + ebx]        ; EIP, CS, EFLAGS, ...
    cmp eax, 14
    jne .notpf
    or dword [PT_BASE + 0x60*4], 1      ; map the page; the access is retried
    invlpg [0x60000]
    jmp .ret
.notpf:
    cmp eax, 3
    je .ret
    cmp eax, 4
    je .ret
    cmp eax, 0x30
    je .ret
    cmp eax, 0x33
    je .ret
    mov eax, [ebp]
    cmp eax, V(endA)
    je .phaseB
    cmp eax, V(endB)
    je finish
    mov ecx, [MVAR + 0xC]
    inc dword [MVAR + 0xC]
    movzx eax, word [resume_table + ecx*2]
    mov [ebp], eax
.ret:
    mov eax, [MVAR + 0x18]
    test eax, eax
    popad
    jz .iret
    add esp, 4
.iret:
    iretd
.phaseB:
    mov dword [ebp], V(startB)
    or dword [ebp + 8], 0x3000  ; IOPL 3
    jmp .ret

resume_table:
    dw V(s2), V(s3), V(s4), V(s5), V(s6), V(s7), V(s8), V(s9), V(s10)
    dw V(s12), V(s14), V(s15), V(s16), V(s17), V(b2), V(b3), V(b4)

; Prints the log, one exit per line (16 dwords), then the vm86 data (DS:0-3F), then END.
finish:
    mov ebx, LOG
    mov edi, [MVAR + 8]
.line:
    test edi, edi
    jz .data
    mov ecx, 16
.word:
    mov eax, [ebx]
    call hex32
    add ebx, 4
    mov al, ' '
    call putc
    loop .word
    mov al, 10
    call putc
    dec edi
    jmp .line
.data:
    mov ebx, DSLIN
    mov ecx, 16
.dw:
    mov eax, [ebx]
    call hex32
    add ebx, 4
    mov al, ' '
    call putc
    loop .dw
    mov al, 10
    call putc
    mov al, 'E'
    call putc
    mov al, 'N'
    call putc
    mov al, 'D'
    call putc
    mov al, 10
    call putc
    mov dx, 0x501               ; debug exit, status 99
    mov al, 0x31
    out dx, al
    cli
    hlt

putc:                           ; AL to COM1 when its transmitter is empty
    push edx
    push eax
    mov dx, 0x3FD
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, 0x3F8
    out dx, al
    pop edx
    ret

hex32:                          ; EAX as 8 hex digits
    push ecx
    push edx
    mov edx, eax
    mov ecx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0xF
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '0' - 10
.out:
    call putc
    loop .digit
    pop edx
    pop ecx
    ret

; ---------------------------------------------------------------- vm86 code (copied)
bits 16
v86_start:
    xor ecx, ecx                ; 16 dwords at DS:0x100 through 32-bit addresses
.fill:
    mov eax, ecx
    imul eax, eax, 0x01010101
    mov [ecx*4 + 0x100], eax
    inc ecx
    cmp ecx, 16
    jb .fill
    xor ebx, ebx
    mov si, 0x100
    mov cx, 16
.sum:
    add ebx, [si]
    add si, 4
    loop .sum
    mov [0x00], ebx
    mov esi, 0x100
    mov edi, 0x200
    mov ecx, 16
    a32 rep movsd
    mov [0x04], esi
    push ebx
    pop edx
    mov [0x08], esp
s1: cli                         ; phase A, IOPL 0: each #GP(0)
s2: sti
s3: pushf
s4: popf
s5: int 0x30
s6: iret
s7: pushfd
s8: popfd
s9: iretd
s10: int3                       ; not IOPL-sensitive: through the DPL-3 gate
    mov al, 0x7F
    add al, 1
    into
s11: in al, 0x80                ; denied by the bitmap
s12: mov dx, 0x300              ; allowed
    out dx, al
s13: mov dx, 0x301              ; denied
    in al, dx
s14: lar ax, bx                 ; #UD
s15: sldt ax                    ; #UD
s16: mov eax, cr0               ; #GP(0)
s17: mov ax, 0x6000             ; #PF (user write, not present), mapped, retried
    mov es, ax
    mov word [es:0x10], 0xBEEF
    mov ax, [es:0x10]
    mov [0x0C], ax
endA: hlt

startB:                         ; phase B, IOPL 3
    cli
    pushf
    pop ax
    mov [0x10], ax
    sti
    pushfd
    pop eax
    mov [0x14], eax
    push word 0x0003
    popf
    pushf
    pop ax
    mov [0x18], ax
    push dword 0x00020200
    popfd
    pushfd
    pop eax
    mov [0x1C], eax
    pushf
    push cs
    push word V(b1)
    iret
b1: mov word [0x20], 0x1616
    int 0x30                    ; to ring 0 and back
    int 0x33                    ; trap gate
    int 0x31                    ; DPL-0 gate: #GP(0x18A)
b2: int 0x32                    ; gate to ring-3 code: #GP(0x18)
b3: in al, 0x80                 ; still denied at IOPL 3
b4: mov [0x24], sp
    mov [0x26], ss
endB: hlt
v86_end:

bits 32
times 0xFFF0 - ($ - $$) db 0xF4
bits 16
    jmp real_start
    times 0x10000 - ($ - $$) db 0xF4
