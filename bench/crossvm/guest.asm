; bench_crossvm guests: real mode, loaded at 0x1000, CS = DS = SS = 0. The iteration
; count comes in EBP (set by the bench); each ends with the debug-exit port (0x501).
; The hypercall gate is `vmcall` (interp), or with -DGATE_port `out 0xE0, eax` (the kvm
; engine's port gate, guest/include/cxvm/hypercall_abi.h: stock KVM answers vmcall itself).
;   MODE_roundtrip: INIT the event page, then per iteration EMIT (token 3) and sleep in
;                   HLT until IRQ 12 brings the consumed event; the handler ACKs.
;   MODE_poke / MODE_pokeregs: hypercall 4 per iteration (an EAX handler / a register
;                   handler on the VMM side).
;   MODE_outport:   OUT to an unused port per iteration (the cheapest exit).
bits 16
org 0x1000

%macro HC 5
    mov eax, %1
    mov ebx, %2
    mov ecx, %3
    mov edx, %4
    mov esi, %5
%ifdef GATE_port
    out 0xE0, eax                   ; CXVM_HYPERCALL_PORT
%else
    vmcall
%endif
%endmacro

start:
    cli
    xor ax, ax
    mov ds, ax
%ifdef MODE_roundtrip
    mov word [0x74*4], irq12        ; IRQ 12 = slave IR4 -> vector 0x74
    mov word [0x74*4+2], 0
    mov al, 0x11                    ; 8259 pair: ICW1..ICW4
    out 0x20, al
    out 0xA0, al
    mov al, 0x08
    out 0x21, al
    mov al, 0x70
    out 0xA1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xA1, al
    mov al, 0x01
    out 0x21, al
    out 0xA1, al
    mov al, 0xFB                    ; only the cascade and IRQ 12 unmasked
    out 0x21, al
    mov al, 0xEF
    out 0xA1, al
    mov dword [0x5000], 0           ; events received
    push ebp
    HC 2, 1, 0x6000, 0, 0           ; INIT
    pop ebp
    xor edi, edi                    ; events expected
.next:
    push ebp
    push edi
    HC 3, 1, 1, 0, 0                ; EMIT
    pop edi
    pop ebp
    inc edi
.wait:
    cli
    cmp [0x5000], edi
    jae .got
    sti
    hlt                             ; sti; hlt: the IRQ cannot slip in between
    jmp .wait
.got:
    sti
    cmp edi, ebp
    jb .next
    jmp done

irq12:
    push eax
    push ebx
    push ecx
    push edx
    push esi
    inc dword [0x5000]
    HC 2, 2, 0, 0, 0                ; ACK
    mov al, 0x20
    out 0xA0, al
    out 0x20, al
    pop esi
    pop edx
    pop ecx
    pop ebx
    pop eax
    iret
%endif
%ifdef MODE_poke
.loop:
    HC 4, 0, 0, 0, 0
    dec ebp
    jnz .loop
    jmp done
%endif
%ifdef MODE_pokeregs
.loop:
    HC 5, 0, 0, 0, 0
    dec ebp
    jnz .loop
    jmp done
%endif
%ifdef MODE_outport
    mov dx, 0x1e0                   ; unclaimed on the PC board
.loop:
    mov eax, 4                      ; the same register setup as a hypercall
    mov ebx, 0
    mov ecx, 0
    mov esi, 0
    out dx, al
    dec ebp
    jnz .loop
%endif
done:
    mov dx, 0x501
    mov al, 0
    out dx, al
    cli
    hlt
