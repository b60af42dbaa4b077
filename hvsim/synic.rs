// SPDX-License-Identifier: GPL-2.0

//! The simulated SynIC of the parent's CPUs: its MSRs, the pages the hypervisor provides (the
//! message and event flags pages, and on the root the event ring page), and message delivery.
//!
//! A message posted to a CPU waits in that CPU's queue. The CPU's delivery irq_work moves it
//! into its SINT's slot of the message page when the slot is free and the SINT is enabled, then
//! raises the "vector": a second irq_work, in hard-IRQ context on that CPU as the hypervisor
//! callback vector runs, which calls the handler the parent hooked. A message behind a full
//! slot sets the slot's "message pending" flag; the parent's EOM asks for the next delivery.
//! Delivery and the parent's handling run on the same CPU, one after the other, so no message
//! is lost between them.
//!
//! Every CPU starts as Hyper-V presents it to a parent: SIMP and SIEFP hold the GPAs of pages
//! the hypervisor provides, not enabled; SIRBP holds the event ring page's on the root and 0
//! on L1VH; every SINT is masked; SCONTROL is off. When the simulator goes away it checks that
//! each CPU was left that way (a line the test bed counts as a failure otherwise).

use core::ffi::c_void;

use kernel::{cpu::nr_cpu_ids, new_spinlock_irq, page::Page, prelude::*, sync::SpinLockIrq};

use crate::{
    abi::hv::{
        message::Message,
        msg,
        synic::{
            msr,
            sint,
            OpaqueIntercept,
            SynicMessagePage,
            VpSignalBitset,
            GENERIC_SET_SPARSE_4K, //
        },
    },
    glue::{
        self,
        synic::IrqWork, //
    },
};

/// Messages a CPU's queue holds at most; more are counted as overflow and dropped.
const QUEUE_MAX: usize = 1024;

/// One CPU's SynIC.
struct Cpu {
    simp: u64,
    siefp: u64,
    sirbp: u64,
    scontrol: u64,
    sints: [u64; sint::COUNT],
    /// Messages waiting for their slot, oldest first: (SINT, message).
    queue: KVec<(usize, Message)>,
    /// The MSRs as Hyper-V presents them, for the check at the end: SIMP, SIEFP, SIRBP.
    initial: [u64; 3],
}

impl Cpu {
    /// Whether a message can go into the slot of `sint`: SynIC and message page enabled, the
    /// SINT unmasked.
    fn deliverable(&self, s: usize) -> bool {
        self.scontrol & msr::ENABLE != 0
            && self.simp & msr::ENABLE != 0
            && self.sints[s] & sint::MASKED == 0
    }
}

/// What the SynIC model holds, under its lock (which the parent's EOM takes, from its handler).
pub(crate) struct State {
    cpus: KVec<Cpu>,
    /// Messages dropped because a CPU's queue was full.
    overflow: u64,
    /// Messages delivered into slots.
    delivered: u64,
}

/// The simulated SynIC.
#[pin_data(PinnedDrop)]
pub(crate) struct Synic {
    #[pin]
    st: SpinLockIrq<State>,
    /// The pages the hypervisor provides: per CPU SIMP, SIEFP, SIRBP.
    _pages: KVec<Page>,
    /// The delivery and vector irq_works, while the handler is hooked.
    #[pin]
    works: SpinLockIrq<Works>,
}

/// The irq_works of a hooked handler; dropping them waits for each.
#[derive(Default)]
struct Works {
    /// Per CPU: moves messages into slots.
    deliver: KVec<IrqWork>,
    /// Per CPU, hard-IRQ: calls the handler.
    vector: KVec<IrqWork>,
    /// The handler the vector works call (their context points here).
    isr: Option<KBox<unsafe extern "C" fn()>>,
}

impl Synic {
    /// Every CPU's SynIC as Hyper-V presents it to a parent (`root`: with the event ring page).
    pub(crate) fn new(root: bool) -> Result<impl PinInit<Self>> {
        let n = nr_cpu_ids() as usize;
        let mut pages = KVec::with_capacity(3 * n, GFP_KERNEL)?;
        let mut cpus = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            let mut gpa = [0u64; 3];
            for g in &mut gpa {
                let page = glue::alloc_zeroed_page()?;
                *g = glue::page_pfn(&page) << 12;
                pages.push(page, GFP_KERNEL)?;
            }
            let initial = [gpa[0], gpa[1], if root { gpa[2] } else { 0 }];
            cpus.push(
                Cpu {
                    simp: initial[0],
                    siefp: initial[1],
                    sirbp: initial[2],
                    scontrol: 0,
                    sints: [sint::MASKED; sint::COUNT],
                    queue: KVec::new(),
                    initial,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(pin_init!(Self {
            st <- new_spinlock_irq!(State {
                cpus,
                overflow: 0,
                delivered: 0,
            }, "mshv_sim_synic"),
            _pages: pages,
            works <- new_spinlock_irq!(Works::default(), "mshv_sim_synic_works"),
        }))
    }

    /// Reads MSR `m` of `cpu`'s SynIC. Rule of this simulator: other MSRs read 0.
    pub(crate) fn rdmsr(&self, cpu: u32, m: u32) -> u64 {
        let st = self.st.lock();
        let Some(c) = st.cpus.get(cpu as usize) else {
            return 0;
        };
        match m {
            msr::SCONTROL => c.scontrol,
            msr::SIEFP => c.siefp,
            msr::SIMP => c.simp,
            msr::SIRBP => c.sirbp,
            _ if (msr::SINT0..msr::SINT0 + sint::COUNT as u32).contains(&m) => {
                c.sints[(m - msr::SINT0) as usize]
            }
            _ => 0,
        }
    }

    /// Writes MSR `m` of `cpu`'s SynIC; EOM asks for the next message. Rule of this simulator:
    /// writes to other MSRs are ignored.
    pub(crate) fn wrmsr(&self, cpu: u32, m: u32, v: u64) {
        let waiting = {
            let mut st = self.st.lock();
            let Some(c) = st.cpus.get_mut(cpu as usize) else {
                return;
            };
            match m {
                msr::SCONTROL => c.scontrol = v & msr::ENABLE,
                msr::SIEFP => c.siefp = v & (msr::PAGE_MASK | msr::ENABLE),
                msr::SIMP => c.simp = v & (msr::PAGE_MASK | msr::ENABLE),
                msr::SIRBP => c.sirbp = v & (msr::PAGE_MASK | msr::ENABLE),
                msr::EOM => {}
                _ if (msr::SINT0..msr::SINT0 + sint::COUNT as u32).contains(&m) => {
                    c.sints[(m - msr::SINT0) as usize] = v
                        & (sint::VECTOR_MASK | sint::MASKED | sint::AUTO_EOI | sint::AS_INTERCEPT);
                }
                _ => {}
            }
            !c.queue.is_empty()
        };
        if waiting {
            self.raise(cpu);
        }
    }

    /// Hooks the parent's handler (`None` unhooks it). `self` must stay where it is while the
    /// handler is hooked: the delivery irq_works point at it.
    pub(crate) fn set_isr(&self, isr: Option<unsafe extern "C" fn()>) {
        // Unhooked first: dropping the works waits for each.
        let old = core::mem::take(&mut *self.works.lock());
        drop(old);
        let Some(isr) = isr else {
            return;
        };
        match self.make_works(isr) {
            Ok(w) => *self.works.lock() = w,
            Err(_) => pr_err!("simulator: no irq_work for the SynIC\n"),
        }
        for cpu in 0..nr_cpu_ids() {
            self.raise(cpu);
        }
    }

    /// The irq_works that deliver to `isr`.
    fn make_works(&self, isr: unsafe extern "C" fn()) -> Result<Works> {
        let isr = KBox::new(isr, GFP_KERNEL)?;
        let mut w = Works::default();
        for _ in 0..nr_cpu_ids() {
            let me = core::ptr::from_ref(self).cast::<c_void>();
            let handler = core::ptr::from_ref(&*isr).cast::<c_void>();
            // SAFETY: `self` is pinned inside the simulator, and the box stays with the works;
            // both outlive the works, which are dropped (waiting for each) first.
            let (d, v) = unsafe {
                (
                    IrqWork::new(deliver, me, false)?,
                    IrqWork::new(vector, handler, true)?,
                )
            };
            w.deliver.push(d, GFP_KERNEL)?;
            w.vector.push(v, GFP_KERNEL)?;
        }
        w.isr = Some(isr);
        Ok(w)
    }

    /// Posts message `m` to SINT `s` of `cpu`.
    pub(crate) fn post(&self, cpu: u32, s: usize, m: &Message) {
        {
            let mut st = self.st.lock();
            let State { cpus, overflow, .. } = &mut *st;
            let Some(c) = cpus.get_mut(cpu as usize) else {
                return;
            };
            if c.queue.len() >= QUEUE_MAX || c.queue.push((s, *m), GFP_ATOMIC).is_err() {
                *overflow += 1;
                return;
            }
        }
        self.raise(cpu);
    }

    /// Posts a root-scheduler signal to the parent: VP `vp` of partition `pt` is to be
    /// dispatched again.
    pub(crate) fn signal_vp(&self, cpu: u32, pt: u64, vp: u32) {
        let mut m = VpSignalBitset {
            partition_id: pt,
            vp_count: 1,
            format: GENERIC_SET_SPARSE_4K,
            valid_bank_mask: 1 << (vp / 64),
            ..Default::default()
        };
        m.banks[0] = 1 << (vp % 64);
        self.post(
            cpu,
            sint::INTERCEPTION,
            &Message::new(msg::SCHEDULER_VP_SIGNAL_BITSET, &m),
        );
    }

    /// Posts a hypervisor-scheduler intercept notification to the parent: VP `vp` of partition
    /// `pt` stopped on an intercept, whose message is in its intercept message page.
    pub(crate) fn intercept(&self, cpu: u32, pt: u64, vp: u32) {
        let mut m = Message::new(msg::OPAQUE_INTERCEPT, &OpaqueIntercept { vp_index: vp });
        m.header.sender = pt;
        self.post(cpu, sint::INTERCEPTION, &m);
    }

    /// Messages delivered into slots, and dropped for a full queue.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let st = self.st.lock();
        (st.delivered, st.overflow)
    }

    /// Runs `cpu`'s delivery soon, on that CPU.
    fn raise(&self, cpu: u32) {
        if let Some(w) = self.works.lock().deliver.get(cpu as usize) {
            w.queue_on(cpu);
        }
    }

    /// The delivery irq_work: moves what fits into the slots, and raises the vector if anything
    /// went in.
    fn deliver_here(&self) {
        let cpu = glue::synic::this_cpu();
        {
            let mut st = self.st.lock();
            if !st.deliver(cpu) {
                return;
            }
            st.delivered += 1;
        }
        if let Some(w) = self.works.lock().vector.get(cpu as usize) {
            w.queue_on(cpu);
        }
    }
}

impl Drop for Works {
    fn drop(&mut self) {
        IrqWork::free_all(&mut [&mut self.deliver, &mut self.vector]);
    }
}

impl State {
    /// Moves the first waiting message of each SINT whose slot is free into it; marks full
    /// slots with more waiting as "message pending". Says whether anything was delivered.
    fn deliver(&mut self, cpu: u32) -> bool {
        let Some(c) = self.cpus.get_mut(cpu as usize) else {
            return false;
        };
        if c.queue.is_empty() || c.scontrol & msr::ENABLE == 0 || c.simp & msr::ENABLE == 0 {
            return false;
        }
        let Some(addr) = glue::phys_to_virt(c.simp & msr::PAGE_MASK) else {
            return false;
        };
        // SAFETY: SIMP names a page of RAM (checked) that the parent programmed as its message
        // page: the hypervisor's to write, as Hyper-V writes it.
        let page = unsafe { SynicMessagePage::new(addr) };
        let mut delivered = false;
        let mut i = 0;
        let mut seen = [false; sint::COUNT];
        while i < c.queue.len() {
            let s = c.queue[i].0.min(sint::COUNT - 1);
            if seen[s] || !c.deliverable(s) {
                i += 1;
                continue;
            }
            seen[s] = true;
            if page.message_type(s) != msg::NONE {
                page.set_pending(s);
                i += 1;
                continue;
            }
            let Ok((_, m)) = c.queue.remove(i) else {
                break;
            };
            page.write(s, &m);
            if c.queue[i..].iter().any(|(q, _)| *q == s) {
                page.set_pending(s);
            }
            delivered = true;
        }
        delivered
    }
}

/// The delivery irq_work's function.
///
/// # Safety
///
/// `ctx` is the [`Synic`] that made the irq_work, alive until it drops it.
unsafe extern "C" fn deliver(ctx: *const c_void) {
    // SAFETY: The caller's guarantee.
    let synic = unsafe { &*ctx.cast::<Synic>() };
    synic.deliver_here();
}

/// The vector irq_work's function, in hard-IRQ context: calls the parent's handler. Takes no
/// lock, as the hypervisor callback vector's context allows none but raw spinlocks.
///
/// # Safety
///
/// `ctx` is the handler box of the [`Works`] the irq_work belongs to, alive until they drop.
unsafe extern "C" fn vector(ctx: *const c_void) {
    // SAFETY: The caller's guarantee: the box holds the handler.
    let isr = unsafe { *ctx.cast::<unsafe extern "C" fn()>() };
    // SAFETY: The parent hooked this handler for its hypervisor callback vector, which runs it
    // in hard-IRQ context on the CPU the message is for: this is that context.
    unsafe { isr() };
}

#[pinned_drop]
impl PinnedDrop for Synic {
    fn drop(self: Pin<&mut Self>) {
        // Waits for each irq_work.
        let works = core::mem::take(&mut *self.works.lock());
        drop(works);
        let st = self.st.lock();
        for (i, c) in st.cpus.iter().enumerate() {
            let sints_masked = c.sints.iter().all(|&s| s & sint::MASKED != 0);
            if [c.simp, c.siefp, c.sirbp] != c.initial || c.scontrol != 0 || !sints_masked {
                pr_err!(
                    "simulator: CPU {i} SynIC never restored: SIMP {:#x} SIEFP {:#x} SIRBP {:#x} SCONTROL {:#x}, SINTs masked: {sints_masked}\n",
                    c.simp,
                    c.siefp,
                    c.sirbp,
                    c.scontrol
                );
            }
        }
    }
}
