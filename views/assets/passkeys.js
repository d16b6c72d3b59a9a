// Tessera's passkey pages: a form marked data-passkey="authenticate" or "register" is shown when
// the browser supports WebAuthn. Submitting it takes the ceremony's options from the page
// (data-options-json) or asks Tessera (same origin, data-options) for them, runs the ceremony with @simplewebauthn/browser (served beside this file), puts the
// credential's JSON in the form's "credential" field and submits the form as usual: Tessera
// answers with a page or a redirect, exactly as for the password form, which needs no script.
(() => {
  const webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn?.browserSupportsWebAuthn()) return;
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    const failure = form.querySelector('[data-passkey-error]');
    const show = (message) => {
      if (!failure) return;
      failure.textContent = message;
      failure.hidden = false;
    };
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      if (form.dataset.ready === 'yes') return;
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      try {
        // The options are in the page (a second factor) or asked for now (sign-in, registration).
        let optionsJSON;
        if (form.dataset.optionsJson) {
          optionsJSON = JSON.parse(form.dataset.optionsJson);
        } else {
          const body = new URLSearchParams({ csrf: form.elements.csrf.value });
          const answer = await fetch(form.dataset.options, { method: 'POST', body, credentials: 'same-origin' });
          if (!answer.ok) {
            const problem = await answer.json().catch(() => ({}));
            show(problem.error_description || 'Passkeys are not available right now. Try again later.');
            return;
          }
          optionsJSON = await answer.json();
        }
        const credential =
          form.dataset.passkey === 'register'
            ? await webauthn.startRegistration({ optionsJSON })
            : await webauthn.startAuthentication({ optionsJSON });
        form.elements.credential.value = JSON.stringify(credential);
        form.dataset.ready = 'yes';
        form.submit();
      } catch (err) {
        show(
          err && err.name === 'NotAllowedError'
            ? 'The passkey request was cancelled or timed out.'
            : 'This passkey could not be used. Try again or use another way to sign in.',
        );
      } finally {
        if (button) button.disabled = false;
      }
    });
  }
})();
