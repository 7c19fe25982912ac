; The bare-metal CPU test program (firmware style, from the reset vector): real mode,
; protected mode, exceptions with error codes, paging (4 KiB + 4 MiB pages, A/D bits,
; WP, INVLPG, CR2), rings (IRET to ring 3, I/O and CLI privilege faults, call gate back
; to ring 0), hardware task switch (CALL TSS + IRET/NT), double fault through a task
; gate, and the FPU (incl. #NM with CR0.TS). Ends with 0x600D on port 0xF4.
%include "common.inc"
org ROM
%include "pm_boot.inc"

bits 32
pm_main:
    POST 0x10
    ; ---- #GP(selector) from a selector beyond the GDT limit
    mov dword [V_RESUME], .after_gp
    mov ax, 0x0F00
    mov ds, ax
    FAIL 10
.after_gp:
    CHECK dword [V_VECTOR], 13, 11
    CHECK dword [V_ERRCODE], 0x0F00, 12
    ; ---- #UD
    mov dword [V_RESUME], .after_ud
    ud2
    FAIL 13
.after_ud:
    CHECK dword [V_VECTOR], 6, 14
    ; ---- INT n returns after the instruction
    mov dword [V_COUNT], 0
    int 0x80
    CHECK dword [V_VECTOR], 0x80, 15
    CHECK dword [V_COUNT], 1, 16
    ; ---- #DE
    mov dword [V_RESUME], .after_de
    xor ecx, ecx
    div ecx
    FAIL 17
.after_de:
    CHECK dword [V_VECTOR], 0, 18

    ; ================= paging
    POST 0x20
    mov edi, PD_BASE
    xor eax, eax
    mov ecx, 1024
    rep stosd
    mov dword [PD_BASE], PT_BASE | 7
    mov dword [PD_BASE + 0x3FF*4], 0xFFC00000 | 0x87   ; 4 MiB page: ROM, user
    mov edi, PT_BASE
    mov eax, 7
    mov ecx, 1024
.pt:
    stosd
    add eax, 0x1000
    loop .pt
    mov dword [PT_BASE + 0x50*4], 0x50000 | 5    ; user, read-only
    mov dword [PT_BASE + 0x60*4], 0              ; not present
    mov dword [PT_BASE + 0x70*4], 0x70000 | 3    ; supervisor only
    mov eax, cr4
    or eax, 0x10                                  ; PSE
    mov cr4, eax
    mov eax, PD_BASE
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000                            ; PG | WP
    mov cr0, eax
    jmp .pg
.pg:
    POST 0x21
    mov dword [V_RESUME], .a1
    mov eax, [0x60010]
    FAIL 20
.a1:
    CHECK dword [V_VECTOR], 14, 21
    CHECK dword [V_ERRCODE], 0, 22
    CHECK dword [V_CR2], 0x60010, 23
    mov dword [V_RESUME], .a2
    mov dword [0x50004], 1
    FAIL 24
.a2:
    CHECK dword [V_ERRCODE], 3, 25
    CHECK dword [V_CR2], 0x50004, 26
    mov dword [0x40000], 5
    mov eax, [PT_BASE + 0x40*4]
    and eax, 0x60
    CHECK eax, 0x60, 27                            ; accessed + dirty
    mov eax, [0x45000]
    mov eax, [PT_BASE + 0x45*4]
    and eax, 0x60
    CHECK eax, 0x20, 28                            ; accessed only
    mov dword [0x42000], 0xABCD
    mov dword [0x41000], 0x1111
    mov dword [PT_BASE + 0x41*4], 0x42000 | 7
    invlpg [0x41000]
    CHECK dword [0x41000], 0xABCD, 29
    mov eax, [PD_BASE + 0x3FF*4]
    and eax, 0x20
    CHECK eax, 0x20, 30                            ; 4 MiB PDE accessed by code fetch

    ; ================= rings
    POST 0x30
    mov dword [TSS0 + 4], STACK0_TOP
    mov dword [TSS0 + 8], 0x10
    mov word [TSS0 + 0x66], 0x68                   ; no I/O bitmap inside the limit
    mov eax, cr3
    mov [TSS0 + 0x1C], eax                         ; CR3 is loaded, never saved, on a switch
    mov ax, 0x28
    ltr ax
    ; call gate 0x48 (DPL 3) -> 08:back0
    mov eax, back0
    mov word [0x848], ax
    mov word [0x84A], 0x08
    mov word [0x84C], 0xEC00
    shr eax, 16
    mov word [0x84E], ax
    push dword 0x23
    push dword STACK3_TOP
    push dword 0x002
    push dword 0x1B
    push dword ring3
    iret
ring3:
    mov ax, 0x23
    mov ds, ax
    mov es, ax
    mov eax, cs
    mov [VARS + 0x10C], eax
    mov dword [V_RESUME], .r3cli
    cli
.r3cli:
    mov eax, [V_VECTOR]
    mov [VARS + 0x100], eax
    mov dword [V_RESUME], .r3io
    in al, 0x80
.r3io:
    mov eax, [V_VECTOR]
    mov [VARS + 0x104], eax
    mov dword [V_RESUME], .r3pf
    mov eax, [0x70000]
.r3pf:
    mov eax, [V_ERRCODE]
    mov [VARS + 0x108], eax
    call 0x4B:0
back0:
    mov eax, cs
    CHECK eax, 0x08, 31
    CHECK dword [esp + 4], 0x1B, 32
    CHECK dword [esp + 12], 0x23, 33
    CHECK dword [esp + 8], STACK3_TOP, 34
    CHECK dword [VARS + 0x10C], 0x1B, 35
    CHECK dword [VARS + 0x100], 13, 36
    CHECK dword [VARS + 0x104], 13, 37
    CHECK dword [VARS + 0x108], 5, 38
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    add esp, 16

    ; ================= task switch: CALL TSS1, task returns with IRET (NT)
    POST 0x40
    call init_tss1
    mov dword [TSS1 + 0x20], task1
    mov ebx, 0x77
    call 0x30:0
    CHECK ebx, 0x77, 40
    CHECK dword [VARS + 0x200], 0x7A5C, 41
    CHECK dword [VARS + 0x204], 0x30, 42
    CHECK dword [VARS + 0x208], 0x4000, 43      ; NT was set in the nested task
    str ax
    CHECK ax, 0x28, 44

    ; ================= double fault through a task gate
    POST 0x48
    call init_tss1
    mov dword [TSS1 + 0x20], df_task
    mov dword [IDT_BASE + 8*8], 0x00300000       ; task gate -> TSS1
    mov dword [IDT_BASE + 8*8 + 4], 0x00008500
    and byte [IDT_BASE + 14*8 + 5], 0x7F         ; #PF gate not present -> #NP -> #DF
    mov eax, [0x60000]
    FAIL 45

task1:
    mov dword [VARS + 0x200], 0x7A5C
    str ax
    movzx eax, ax
    mov [VARS + 0x204], eax
    pushfd
    pop eax
    and eax, 0x4000
    mov [VARS + 0x208], eax
    mov ebx, 0x99
    iret

init_tss1:
    mov edi, TSS1
    xor eax, eax
    mov ecx, 0x68/4
    rep stosd
    mov eax, cr3
    mov [TSS1 + 0x1C], eax
    mov dword [TSS1 + 0x24], 0x2
    mov dword [TSS1 + 0x38], STACK1_TOP
    mov word [TSS1 + 0x4C], 0x08
    mov ax, 0x10
    mov [TSS1 + 0x48], ax
    mov [TSS1 + 0x50], ax
    mov [TSS1 + 0x54], ax
    mov [TSS1 + 0x58], ax
    mov [TSS1 + 0x5C], ax
    ret

df_task:
    POST 0x49
    CHECK dword [esp], 0, 46                     ; #DF error code is 0
    str ax
    CHECK ax, 0x30, 47
    CHECK word [TSS0 + 0x48 + 4], 0x08, 48       ; old task's CS saved
    or byte [IDT_BASE + 14*8 + 5], 0x80
    add esp, 4

    ; ================= FPU
    POST 0x50
    mov eax, 1
    cpuid
    test edx, 1
    jz .nofpu
    mov eax, cr0
    and eax, ~0xC
    or eax, 0x22
    mov cr0, eax
    fninit
    fld1
    fld1
    faddp
    fistp dword [VARS + 0x300]
    CHECK dword [VARS + 0x300], 2, 50
    mov eax, cr0
    or eax, 8
    mov cr0, eax
    mov dword [V_RESUME], .nm
    fld1
    FAIL 51
.nm:
    CHECK dword [V_VECTOR], 7, 52
    clts
    fld1
    fistp dword [VARS + 0x304]
    CHECK dword [VARS + 0x304], 1, 53
    POST 0x51
.nofpu:
    EXIT_OK

times 0xFFF0 - ($ - $$) db 0xF4
bits 16
reset_vector:
    jmp real_start
    times 0x10000 - ($ - $$) db 0xF4
